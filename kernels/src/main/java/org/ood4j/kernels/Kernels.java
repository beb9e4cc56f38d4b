package org.ood4j.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/**
 * The index of our CUDA kernels: one PTX module per op family (kernels/src/main/cuda/NAME.cu,
 * compiled by build-ptx.sh to the resource org/ood4j/kernels/NAME.ptx) and the extern "C" entry
 * points it holds. Each kernel's launch shape and parameters are documented in its .cu file.
 */
public final class Kernels {
    private Kernels() {}

    /** The PTX modules and their entry points. */
    public enum Module {
        ELEMENTWISE("elementwise", "ew_unary_f", "ew_unary_d", "ew_binary_f", "ew_binary_d", "ew_where", "ew_copy"),
        REDUCE("reduce", "reduce_rows_f", "reduce_rows_d", "reduce_rows_i64", "softmax_rows_f", "softmax_rows_d"),
        TOPK("topk", "topk_rows_f", "topk_rows_d"),
        KNN("knn", "knn_tiles_f", "knn_tiles_d", "knn_merge_f", "knn_merge_d"),
        INDEX("index", "gather_strided", "mask_count", "mask_scatter", "group_sum", "group_count"),
        CONV("conv", "im2col", "col2im", "pool2d", "pool2d_grad"),
        LINALG("linalg", "remove_top_singular_f", "remove_top_singular_d");

        private final String fileName;
        private final List<String> entryPoints;

        Module(String fileName, String... entryPoints) {
            this.fileName = fileName;
            this.entryPoints = List.of(entryPoints);
        }

        /** The base name of the .cu source and the .ptx resource. */
        public String fileName() { return fileName; }

        /** The kernels' extern "C" names. */
        public List<String> entryPoints() { return entryPoints; }

        /** The classpath resource of the PTX. */
        public String resource() { return "/org/ood4j/kernels/" + fileName + ".ptx"; }
    }

    /**
     * The PTX text of a module as bytes followed by one zero byte: the NUL-terminated image that
     * cuModuleLoadData expects.
     */
    public static byte[] ptx(Module module) {
        try (InputStream in = Kernels.class.getResourceAsStream(module.resource())) {
            if (in == null) throw new IllegalStateException("PTX resource " + module.resource() + " is missing from the kernels jar");
            byte[] text = in.readAllBytes();
            return Arrays.copyOf(text, text.length + 1);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read PTX resource " + module.resource(), e);
        }
    }
}
