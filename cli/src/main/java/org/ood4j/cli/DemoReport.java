package org.ood4j.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import javax.imageio.ImageIO;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.ood4j.cli.DemoDetectors.Outcome;
import org.ood4j.detectors.OodMetrics;
import org.ood4j.engine.io.AtomicFile;

/**
 * The demo's results: the table (printed, and as Markdown and CSV) and the plots — one
 * histogram of ID, near-OOD and far-OOD scores per detector (and all of them on one grid), and
 * the ROC curves of every detector against each OOD set — drawn with XChart.
 */
final class DemoReport {
    private DemoReport() {}

    private static final Color ID = new Color(0x1f77b4), NEAR = new Color(0xff7f0e), FAR = new Color(0xd62728);
    private static final int BINS = 40, HIST_W = 480, HIST_H = 320, GRID_COLUMNS = 5;

    // ---------------------------------------------------------------- the table

    /** The results as one Markdown table, columns padded so that it also reads as plain text. */
    static String table(List<Outcome> outcomes) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"detector", "input", "near-OOD AUROC / AUPR-IN / AUPR-OUT / FPR95",
                "far-OOD AUROC / AUPR-IN / AUPR-OUT / FPR95", "fit s", "score s"});
        for (Outcome o : outcomes) {
            rows.add(o.failed()
                    ? new String[] {o.row().name(), o.row().feed().label, "failed: " + o.error(), "", "", ""}
                    : new String[] {o.row().name(), o.row().feed().label, metrics(o.near()), metrics(o.far()), seconds(o.fitSeconds()),
                            seconds(o.scoreSeconds())});
        }
        int[] width = new int[6];
        for (String[] r : rows) for (int c = 0; c < 6; c++) if (!(c == 2 && r[3].isEmpty())) width[c] = Math.max(width[c], r[c].length());
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < rows.size(); i++) {
            String[] r = rows.get(i);
            out.append('|');
            for (int c = 0; c < 6; c++) {
                boolean right = c >= 4 && i > 0;
                out.append(' ').append(right ? " ".repeat(width[c] - r[c].length()) + r[c] : pad(r[c], width[c])).append(" |");
            }
            out.append('\n');
            if (i == 0) {
                out.append('|');
                for (int c = 0; c < 6; c++) out.append(c >= 4 ? "-".repeat(width[c] + 1) + ":|" : "-".repeat(width[c] + 2) + "|");
                out.append('\n');
            }
        }
        return out.toString();
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }

    private static String metrics(OodMetrics.Result r) {
        return String.format(Locale.ROOT, "%.4f / %.4f / %.4f / %.4f", r.auroc(), r.auprIn(), r.auprOut(), r.fpr95tpr());
    }

    private static String seconds(double s) {
        return String.format(Locale.ROOT, "%.2f", s);
    }

    // ---------------------------------------------------------------- files

    /**
     * Writes results.md (the summary lines, then the table), results.csv and the plots into
     * {@code dir}; returns the files written, relative to it. Plots that cannot be drawn (no
     * fonts on a headless machine, say) are reported in {@code notes} and skipped.
     */
    static List<String> write(Path dir, List<String> summary, List<Outcome> outcomes, List<String> notes) throws IOException {
        Files.createDirectories(dir.resolve("histograms"));
        List<String> written = new ArrayList<>();
        List<String> plots = new ArrayList<>();
        try {
            plots.addAll(plots(dir, outcomes));
        } catch (IOException | RuntimeException | LinkageError e) {
            notes.add("plots skipped: " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }

        StringBuilder md = new StringBuilder("# ood4j demo\n\n");
        for (String line : summary) md.append("* ").append(line).append('\n');
        md.append("\nHigher scores mean more OOD; ID vs each OOD set, OOD positive (FPR95 = false-positive rate at 95% TPR). ")
          .append("Rows fed representations (logits, features, feature maps, layers) are timed without the shared forward pass; ")
          .append("model rows run the network themselves.\n\n");
        md.append(table(outcomes));
        for (String note : notes) md.append("\n").append(note).append('\n');
        if (!plots.isEmpty()) {
            md.append("\n## Plots\n\n![ROC near-OOD](roc-near.png)\n![ROC far-OOD](roc-far.png)\n![score histograms](histograms.png)\n");
        }
        AtomicFile.writeString(dir.resolve("results.md"), md);
        written.add("results.md");

        StringBuilder csv = new StringBuilder("detector,input,auroc_near,aupr_in_near,aupr_out_near,fpr95_near,"
                + "auroc_far,aupr_in_far,aupr_out_far,fpr95_far,fit_s,score_s,error\n");
        for (Outcome o : outcomes) {
            csv.append(o.row().name()).append(',').append(o.row().feed().label).append(',');
            if (o.failed()) {
                csv.append(",,,,,,,,,,").append('"').append(o.error().replace("\"", "\"\"")).append('"');
            } else {
                for (OodMetrics.Result r : List.of(o.near(), o.far())) {
                    for (double v : new double[] {r.auroc(), r.auprIn(), r.auprOut(), r.fpr95tpr()}) csv.append(number(v)).append(',');
                }
                csv.append(number(o.fitSeconds())).append(',').append(number(o.scoreSeconds())).append(',');
            }
            csv.append('\n');
        }
        AtomicFile.writeString(dir.resolve("results.csv"), csv);
        written.add("results.csv");
        written.addAll(plots);
        return written;
    }

    private static String number(double v) {
        return String.format(Locale.ROOT, "%.6f", v);
    }

    // ---------------------------------------------------------------- plots

    private static List<String> plots(Path dir, List<Outcome> outcomes) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<String> written = new ArrayList<>();
        List<Outcome> ok = outcomes.stream().filter(o -> !o.failed()).toList();
        List<BufferedImage> tiles = new ArrayList<>();
        for (Outcome o : ok) {
            BufferedImage image = BitmapEncoder.getBufferedImage(histogram(o));
            String name = "histograms/" + o.row().name() + ".png";
            png(image, dir.resolve(name));
            written.add(name);
            tiles.add(image);
        }
        if (!tiles.isEmpty()) {
            png(grid(tiles), dir.resolve("histograms.png"));
            written.add("histograms.png");
        }
        for (boolean near : new boolean[] {true, false}) {
            String name = near ? "roc-near.png" : "roc-far.png";
            png(BitmapEncoder.getBufferedImage(roc(ok, near)), dir.resolve(name));
            written.add(name);
        }
        return written;
    }

    /** Writes a PNG atomically (a report read while the demo runs again shows whole images). */
    private static void png(BufferedImage image, Path file) throws IOException {
        AtomicFile.write(file, out -> {
            if (!ImageIO.write(image, "png", out)) throw new IOException("no PNG writer in this JVM");
        });
    }

    /**
     * Score histograms of the three sets as fractions per bin, over the 1st to 99th percentile of
     * all scores (scores beyond are counted in the end bins, infinite ones too).
     */
    private static XYChart histogram(Outcome o) {
        double[] all = finiteSorted(o.idScores(), o.nearScores(), o.farScores());
        double lo = all.length == 0 ? 0 : all[(int) (0.01 * (all.length - 1))];
        double hi = all.length == 0 ? 1 : all[(int) Math.ceil(0.99 * (all.length - 1))];
        if (!(hi > lo)) {
            lo -= 0.5;
            hi += 0.5;
        }
        XYChart chart = new XYChartBuilder().width(HIST_W).height(HIST_H).title(o.row().name() + " (" + o.row().feed().label + ")")
                .xAxisTitle("score (higher = more OOD)").yAxisTitle("fraction").build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setXAxisTickMarkSpacingHint(110);
        chart.getStyler().setXAxisDecimalPattern(decimalPattern(lo, hi));
        double[] edges = new double[BINS + 1];
        for (int i = 0; i <= BINS; i++) edges[i] = lo + (hi - lo) * i / BINS;
        add(chart, "ID", edges, counts(o.idScores(), lo, hi), ID);
        add(chart, "near-OOD", edges, counts(o.nearScores(), lo, hi), NEAR);
        add(chart, "far-OOD", edges, counts(o.farScores(), lo, hi), FAR);
        return chart;
    }

    /** Tick labels of a few significant digits for the range's magnitude. */
    private static String decimalPattern(double lo, double hi) {
        double magnitude = Math.max(Math.abs(lo), Math.abs(hi)), span = hi - lo;
        if (magnitude >= 1e5 || span < 1e-3) return "0.0#E0";
        if (span < 0.1) return "0.####";
        if (span < 10) return "0.##";
        return "0";
    }

    private static double[] finiteSorted(double[]... sets) {
        return Arrays.stream(sets).flatMapToDouble(Arrays::stream).filter(Double::isFinite).sorted().toArray();
    }

    /** Fractions per bin, one value per edge (the last repeats the last bin, for the step plot). */
    private static double[] counts(double[] scores, double lo, double hi) {
        double[] f = new double[BINS + 1];
        for (double s : scores) {
            if (!Double.isNaN(s)) f[Math.clamp((long) Math.floor((s - lo) / (hi - lo) * BINS), 0, BINS - 1)] += 1.0 / scores.length;
        }
        f[BINS] = f[BINS - 1];
        return f;
    }

    private static void add(XYChart chart, String name, double[] x, double[] y, Color color) {
        XYSeries s = chart.addSeries(name, x, y);
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 70));
    }

    /** Tiles of equal size, {@link #GRID_COLUMNS} per row. */
    private static BufferedImage grid(List<BufferedImage> tiles) {
        int w = tiles.get(0).getWidth(), h = tiles.get(0).getHeight();
        int columns = Math.min(GRID_COLUMNS, tiles.size()), rows = (tiles.size() + columns - 1) / columns;
        BufferedImage grid = new BufferedImage(columns * w, rows * h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = grid.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, grid.getWidth(), grid.getHeight());
        for (int i = 0; i < tiles.size(); i++) g.drawImage(tiles.get(i), (i % columns) * w, (i / columns) * h, null);
        g.dispose();
        return grid;
    }

    /** Every detector's ROC curve against one OOD set, best AUROC first in the legend. */
    private static XYChart roc(List<Outcome> outcomes, boolean near) {
        XYChart chart = new XYChartBuilder().width(1100).height(800)
                .title("ROC, ID vs " + (near ? "near-OOD (Fashion-MNIST classes 5-9)" : "far-OOD (uniform noise)"))
                .xAxisTitle("false-positive rate (ID flagged as OOD)").yAxisTitle("true-positive rate (OOD flagged)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setXAxisTickMarkSpacingHint(90);       // the data (with the chance line) spans [0, 1] x [0, 1]
        chart.getStyler().setYAxisTickMarkSpacingHint(90);
        List<Outcome> sorted = new ArrayList<>(outcomes);
        sorted.sort(Comparator.comparingDouble((Outcome o) -> -(near ? o.near() : o.far()).auroc()));
        for (int i = 0; i < sorted.size(); i++) {
            Outcome o = sorted.get(i);
            OodMetrics.Roc roc = near ? o.nearRoc() : o.farRoc();
            String label = String.format(Locale.ROOT, "%s %.3f", o.row().name(), (near ? o.near() : o.far()).auroc());
            XYSeries s = chart.addSeries(label, roc.fpr(), roc.tpr());
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(Color.getHSBColor(0.85f * i / sorted.size(), 0.8f, 0.8f));   // red to violet, no wrap-around
            s.setLineStyle(i % 2 == 0 ? new BasicStroke(1.5f)
                    : new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 3f}, 0f));
        }
        XYSeries chance = chart.addSeries("chance", new double[] {0, 1}, new double[] {0, 1});
        chance.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        chance.setMarker(SeriesMarkers.NONE);
        chance.setLineColor(Color.GRAY);
        return chart;
    }
}
