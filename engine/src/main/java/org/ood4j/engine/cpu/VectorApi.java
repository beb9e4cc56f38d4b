package org.ood4j.engine.cpu;

/**
 * Where the Vector API implementations come from: loaded by name, so that a JVM started without
 * {@code --add-modules jdk.incubator.vector} never links a class that uses the module, and falls back
 * to the scalar loops (the same numbers) instead.
 */
final class VectorApi {
    private VectorApi() {}

    /**
     * A new instance of the class {@code className} (a Vector API implementation of {@code type}), or
     * null without the incubator module, with {@code -D<disabledBy>=true}, or if it cannot be loaded.
     */
    static <T> T load(Class<T> type, String className, String disabledBy) {
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        if (!vectorModule || Boolean.getBoolean(disabledBy)) return null;
        try {
            return type.cast(Class.forName(className).getDeclaredConstructor().newInstance());
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }
}
