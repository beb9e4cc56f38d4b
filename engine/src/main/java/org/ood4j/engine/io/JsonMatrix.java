package org.ood4j.engine.io;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.ood4j.engine.Tensor;

/**
 * A streaming reader of one float32 matrix sent as JSON, {@code {"KEY": [[x, ...], ...]}}: the
 * scoring server's request body. Unlike {@link Json#parse} it builds no tree and boxes no number:
 * it walks the bytes once, writing each number into a growing {@code float[]} and checking every
 * row's length against the first (a 64 MB body is one pass, not millions of objects).
 *
 * <p>Numbers are rounded to float32 exactly as {@link Float#parseFloat} rounds them. Decimals
 * with exponents within 10^±22 take a fast path: the double m·10^e from their first 18 digits is
 * within a few units in its last place of the number, and narrowing it to float is the correct
 * rounding unless it lies that close to halfway between two floats (or in the subnormal range),
 * where {@link Float#parseFloat} decides instead (see {@link #fast}). NaN, Infinity, strings, numbers beyond
 * float32's range and anything else that is not a number are refused, naming the row and column.
 * Errors are {@link Json.ParseException}s.
 */
public final class JsonMatrix {
    private static final double[] POW10 = new double[23];

    static {
        POW10[0] = 1;
        for (int i = 1; i < POW10.length; i++) POW10[i] = POW10[i - 1] * 10;
    }

    private final byte[] b;
    private final int end;
    private int pos;
    private float[] data;
    private int count;

    /** The key the body names, the matrix's size and its values, row-major ({@code data.length == rows * cols}). */
    public record Result(String key, int rows, int cols, float[] data) {
        /** A float32 tensor (rows, cols) holding the values. */
        public Tensor toTensor() {
            return Tensor.of(data, rows, cols);
        }
    }

    private JsonMatrix(byte[] bytes, int length) {
        this.b = bytes;
        this.end = length;
        // at least two bytes per number ("0,"): a first guess of ~10 keeps the growth copies few
        this.data = new float[Math.max(16, length / 10)];
    }

    /** Reads {@code {"KEY": [[...], ...]}} from the first {@code length} bytes (UTF-8); one key only. */
    public static Result parse(byte[] bytes, int length) {
        if (length < 0 || length > bytes.length) throw new IllegalArgumentException("length " + length + " outside [0, " + bytes.length + "]");
        return new JsonMatrix(bytes, length).document();
    }

    private Result document() {
        skipSpace();
        if (pos == end) throw error("empty body: expected {\"features\": [[...], ...]} or {\"logits\": [[...], ...]}");
        expect('{');
        skipSpace();
        String key = key();
        skipSpace();
        expect(':');
        skipSpace();
        int[] shape = matrix();
        skipSpace();
        if (pos < end && b[pos] == ',') throw error("one key only: the body holds '" + key + "' and more");
        expect('}');
        skipSpace();
        if (pos < end) throw error("unexpected " + describeHere() + " after the object");
        return new Result(key, shape[0], shape[1], count == data.length ? data : Arrays.copyOf(data, count));
    }

    /** A key: plain characters between quotes (escapes are not needed by the keys we take). */
    private String key() {
        if (pos == end || b[pos] != '"') throw error("expected a key in quotes, got " + describeHere());
        int start = ++pos;
        while (pos < end && b[pos] != '"') {
            if (b[pos] == '\\' || (b[pos] & 0xff) < 0x20) throw error("unexpected character in the key");
            pos++;
        }
        if (pos == end) throw error("unterminated key");
        return new String(b, start, pos++ - start, StandardCharsets.UTF_8);
    }

    /** [[...], ...] -> {rows, cols}; the values go to data. */
    private int[] matrix() {
        expect('[');
        skipSpace();
        int rows = 0, cols = -1;
        if (pos < end && b[pos] == ']') {
            pos++;
            return new int[] {0, 0};
        }
        while (true) {
            int n = row(rows);
            if (cols < 0) cols = n;
            else if (n != cols) throw error("row " + rows + " has " + n + " values, row 0 has " + cols);
            rows++;
            skipSpace();
            if (pos < end && b[pos] == ',') {
                pos++;
                skipSpace();
                continue;
            }
            expect(']');
            return new int[] {rows, cols};
        }
    }

    /** One row [x, ...]; returns its length. */
    private int row(int row) {
        if (pos == end || b[pos] != '[') throw error("row " + row + ": expected '[' (a row of numbers), got " + describeHere());
        pos++;
        skipSpace();
        if (pos < end && b[pos] == ']') throw error("row " + row + " is empty");
        int col = 0;
        while (true) {
            add(number(row, col++));
            skipSpace();
            if (pos < end && b[pos] == ',') {
                pos++;
                skipSpace();
                continue;
            }
            if (pos < end && b[pos] == ']') {
                pos++;
                return col;
            }
            throw error("row " + row + ": expected ',' or ']' after column " + (col - 1) + ", got " + describeHere());
        }
    }

    private void add(float v) {
        if (count == data.length) {
            if (data.length == Integer.MAX_VALUE - 8) throw error("more than " + count + " numbers");
            data = Arrays.copyOf(data, (int) Math.min(Integer.MAX_VALUE - 8, data.length + (data.length >> 1) + 16L));
        }
        data[count++] = v;
    }

    /** One JSON number as float32 (see the class comment); anything else is refused naming row and column. */
    private float number(int row, int col) {
        int start = pos;
        boolean negative = pos < end && b[pos] == '-';
        if (negative) pos++;
        if (pos == end || !digit(b[pos])) throw notANumber(start, row, col);
        long m = 0;
        int significant = 0, exp10 = 0;
        if (b[pos] == '0') pos++;   // JSON: no other digit may follow a leading 0 (the caller then sees it)
        else {
            for (; pos < end && digit(b[pos]); pos++) {
                if (significant < 18) {
                    m = m * 10 + (b[pos] - '0');
                    significant++;
                } else {
                    exp10++;
                    significant++;
                }
            }
        }
        if (pos < end && b[pos] == '.') {
            pos++;
            if (pos == end || !digit(b[pos])) throw error("row " + row + ", column " + col + ": a digit must follow the decimal point, got " + describeHere());
            for (; pos < end && digit(b[pos]); pos++) {
                if (m == 0 && b[pos] == '0') exp10--;   // leading zeros of the fraction are not significant
                else if (significant < 18) {
                    m = m * 10 + (b[pos] - '0');
                    significant++;
                    exp10--;
                } else significant++;
            }
        }
        if (pos < end && (b[pos] == 'e' || b[pos] == 'E')) exp10 = exponent(exp10, row, col);
        float f = exp10 >= -22 && exp10 <= 22 ? fast(m, exp10, negative) : Float.NaN;
        if (Float.isNaN(f)) f = Float.parseFloat(new String(b, start, pos - start, StandardCharsets.ISO_8859_1));
        if (Float.isInfinite(f)) {
            throw error("row " + row + ", column " + col + ": " + new String(b, start, pos - start, StandardCharsets.ISO_8859_1)
                    + " is beyond the float32 range");
        }
        return f;
    }

    /** The exponent part after e/E, added to exp10 (clamped: far beyond float's range either way). */
    private int exponent(int exp10, int row, int col) {
        pos++;
        boolean negative = pos < end && b[pos] == '-';
        if (pos < end && (b[pos] == '-' || b[pos] == '+')) pos++;
        if (pos == end || !digit(b[pos])) throw error("row " + row + ", column " + col + ": a digit must follow the exponent mark, got " + describeHere());
        int e = 0;
        for (; pos < end && digit(b[pos]); pos++) e = Math.min(100_000, e * 10 + (b[pos] - '0'));
        return exp10 + (negative ? -e : e);
    }

    /**
     * m·10^e (m: the first 18 significant digits) rounded to float, or NaN where only
     * {@link Float#parseFloat} can round it right. The double d = m·10^e is within 3 units in its
     * last place of the decimal (m to double, the exact power of ten, the dropped digits: each under
     * one); narrowing drops d's low 29 mantissa bits, so unless they lie within 8 units of
     * 1000...0 (a float midpoint), d and the decimal round to the same float.
     */
    private static float fast(long m, int exp10, boolean negative) {
        double d = exp10 < 0 ? m / POW10[-exp10] : m * POW10[exp10];
        if (d != 0 && d < Float.MIN_NORMAL) return Float.NaN;   // subnormal floats keep fewer bits
        long dropped = Double.doubleToRawLongBits(d) & 0x1FFF_FFFFL;
        if (Math.abs(dropped - 0x1000_0000L) <= 8) return Float.NaN;
        float f = (float) d;
        return negative ? -f : f;
    }

    /** At pos (after any minus sign at start): what is there instead of digits. */
    private Json.ParseException notANumber(int start, int row, int col) {
        String what = startsWith("NaN") ? "NaN is not accepted"
                : startsWith("Infinity") ? "Infinity is not accepted"
                : "expected a number, got " + describeHere();
        pos = start;
        return error("row " + row + ", column " + col + ": " + what + " (finite numbers only)");
    }

    private boolean startsWith(String token) {
        if (end - pos < token.length()) return false;
        for (int i = 0; i < token.length(); i++) if (b[pos + i] != token.charAt(i)) return false;
        return true;
    }

    private static boolean digit(byte c) {
        return c >= '0' && c <= '9';
    }

    private void skipSpace() {
        while (pos < end && (b[pos] == ' ' || b[pos] == '\n' || b[pos] == '\r' || b[pos] == '\t')) pos++;
    }

    private void expect(char c) {
        if (pos == end || b[pos] != c) throw error("expected '" + c + "', got " + describeHere());
        pos++;
    }

    private String describeHere() {
        if (pos >= end) return "the end of the body";
        int c = b[pos] & 0xff;
        if (c == '"') return "a string";
        if (c == 't' || c == 'f') return "a boolean";
        if (c == 'n') return "null";
        if (c == '{') return "an object";
        if (c == '[') return "an array";
        return c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02X", c);
    }

    /** An error at the current position, with its line and column (counted only now, on the error path). */
    private Json.ParseException error(String problem) {
        int line = 1, lineStart = 0;
        for (int i = 0; i < Math.min(pos, end); i++) {
            if (b[i] == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new Json.ParseException(problem, pos, line, pos - lineStart + 1);
    }
}
