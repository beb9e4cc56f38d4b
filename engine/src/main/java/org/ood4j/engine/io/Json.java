package org.ood4j.engine.io;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader and writer for headers, case files and detector save files: no
 * dependency, and values are plain Java objects.
 *
 * <p>{@link #parse} maps an object to a {@link LinkedHashMap} (keys in file order), an array to
 * an {@link ArrayList}, a string to {@link String}, a number without fraction or exponent that
 * fits to {@link Long} and any other number to {@link Double}, {@code true}/{@code false} to
 * {@link Boolean} and {@code null} to null. Besides strict JSON it accepts the tokens
 * {@code NaN}, {@code Infinity} and {@code -Infinity}, because Python's {@code json} module
 * writes them by default; {@link #write} writes non-finite doubles the same way, so such values
 * round-trip with Python. Duplicate keys are an error (the second would silently win otherwise).
 *
 * <p>Errors are {@link ParseException}s that give the line, column and character offset.
 */
public final class Json {
    /** Deeper nesting than this is refused, so a hostile input cannot overflow the stack. */
    public static final int MAX_DEPTH = 512;

    private Json() {}

    /** Malformed JSON; the message says what was expected and where. */
    public static final class ParseException extends IllegalArgumentException {
        private final int position;
        private final int line;
        private final int column;

        ParseException(String problem, int position, int line, int column) {
            super(problem + " at line " + line + ", column " + column + " (offset " + position + ")");
            this.position = position;
            this.line = line;
            this.column = column;
        }

        /** Character offset of the error, from 0. */
        public int position() { return position; }

        /** Line of the error, from 1. */
        public int line() { return line; }

        /** Column of the error, from 1. */
        public int column() { return column; }
    }

    // ---------------------------------------------------------------- parsing

    /** Parses one JSON value; only whitespace may follow it. */
    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.skipSpace();
        Object value = p.value(0);
        p.skipSpace();
        if (p.pos < text.length()) throw p.error("unexpected " + p.describeHere() + " after the value");
        return value;
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) { this.s = s; }

        Object value(int depth) {
            if (depth >= MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH);
            if (pos >= s.length()) throw error("unexpected end of input, expected a value");
            char c = s.charAt(pos);
            return switch (c) {
                case '{' -> object(depth);
                case '[' -> array(depth);
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                case 'N' -> literal("NaN", Double.NaN);
                case 'I' -> literal("Infinity", Double.POSITIVE_INFINITY);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) yield number();
                    throw error("unexpected " + describeHere() + ", expected a value");
                }
            };
        }

        private Map<String, Object> object(int depth) {
            Map<String, Object> map = new LinkedHashMap<>();
            pos++; // '{'
            skipSpace();
            if (peek() == '}') {
                pos++;
                return map;
            }
            while (true) {
                skipSpace();
                if (peek() != '"') throw error("unexpected " + describeHere() + ", expected a string key");
                int keyAt = pos;
                String key = string();
                skipSpace();
                expect(':');
                skipSpace();
                Object v = value(depth + 1);
                if (map.containsKey(key)) {
                    pos = keyAt;
                    throw error("duplicate key \"" + key + "\"");
                }
                map.put(key, v);
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() == '}') {
                    pos++;
                    return map;
                } else {
                    throw error("unexpected " + describeHere() + ", expected ',' or '}'");
                }
            }
        }

        private List<Object> array(int depth) {
            List<Object> list = new ArrayList<>();
            pos++; // '['
            skipSpace();
            if (peek() == ']') {
                pos++;
                return list;
            }
            while (true) {
                skipSpace();
                list.add(value(depth + 1));
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() == ']') {
                    pos++;
                    return list;
                } else {
                    throw error("unexpected " + describeHere() + ", expected ',' or ']'");
                }
            }
        }

        private String string() {
            int start = pos;
            pos++; // opening quote
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (pos >= s.length()) {
                    pos = start;
                    throw error("unterminated string");
                }
                char c = s.charAt(pos);
                if (c == '"') {
                    pos++;
                    return sb.toString();
                }
                if (c < 0x20) throw error("control character U+" + hex4(c) + " in a string (escape it)");
                if (c == '\\') {
                    escape(sb);
                } else {
                    sb.append(c);
                    pos++;
                }
            }
        }

        private void escape(StringBuilder sb) {
            pos++; // backslash
            if (pos >= s.length()) throw error("unterminated escape");
            char e = s.charAt(pos);
            switch (e) {
                case '"' -> sb.append('"');
                case '\\' -> sb.append('\\');
                case '/' -> sb.append('/');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (pos + 5 > s.length()) throw error("truncated \\u escape");
                    int code = 0;
                    for (int i = 1; i <= 4; i++) {
                        int d = Character.digit(s.charAt(pos + i), 16);
                        if (d < 0) {
                            pos += i;
                            throw error("bad hex digit " + describeHere() + " in \\u escape");
                        }
                        code = code * 16 + d;
                    }
                    sb.append((char) code);
                    pos += 4;
                }
                default -> throw error("bad escape \\" + e);
            }
            pos++;
        }

        private Object number() {
            int start = pos;
            if (peek() == '-') {
                pos++;
                if (s.startsWith("Infinity", pos)) {
                    pos += "Infinity".length();
                    return Double.NEGATIVE_INFINITY;
                }
            }
            if (peek() == '0') {
                pos++;
                if (isDigit(peek())) throw error("leading zero in a number");
            } else if (isDigit(peek())) {
                digits();
            } else {
                throw error("unexpected " + describeHere() + ", expected a digit");
            }
            boolean integral = true;
            if (peek() == '.') {
                integral = false;
                pos++;
                if (!isDigit(peek())) throw error("expected a digit after the decimal point");
                digits();
            }
            if (peek() == 'e' || peek() == 'E') {
                integral = false;
                pos++;
                if (peek() == '+' || peek() == '-') pos++;
                if (!isDigit(peek())) throw error("expected a digit in the exponent");
                digits();
            }
            String text = s.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(text);
                } catch (NumberFormatException tooBig) {
                    return new BigInteger(text).doubleValue();
                }
            }
            return Double.parseDouble(text);
        }

        private void digits() {
            while (isDigit(peek())) pos++;
        }

        private static boolean isDigit(int c) {
            return c >= '0' && c <= '9';
        }

        private Object literal(String word, Object value) {
            if (!s.startsWith(word, pos)) throw error("unexpected " + describeHere() + ", expected a value");
            pos += word.length();
            return value;
        }

        private void expect(char c) {
            if (peek() != c) throw error("unexpected " + describeHere() + ", expected '" + c + "'");
            pos++;
        }

        /** The current character, or -1 at the end. */
        private int peek() {
            return pos < s.length() ? s.charAt(pos) : -1;
        }

        void skipSpace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
                pos++;
            }
        }

        String describeHere() {
            if (pos >= s.length()) return "end of input";
            char c = s.charAt(pos);
            return c >= 0x20 && c < 0x7f ? "'" + c + "'" : "character U+" + hex4(c);
        }

        ParseException error(String problem) {
            int line = 1;
            int lineStart = 0;
            int end = Math.min(pos, s.length());
            for (int i = 0; i < end; i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                    lineStart = i + 1;
                }
            }
            return new ParseException(problem, pos, line, pos - lineStart + 1);
        }
    }

    private static String hex4(char c) {
        return String.format("%04X", (int) c);
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes a value compactly. Accepts {@link Map} (keys must be strings), {@link Iterable},
     * arrays of primitives or objects, {@link CharSequence}, {@link Number}, {@link Boolean},
     * {@link Character} and null; anything else is an {@link IllegalArgumentException}.
     */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, null).value(value, 0);
        return sb.toString();
    }

    /** Writes a value over several lines, indented by two spaces, for files people read. */
    public static String writePretty(Object value) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, "  ").value(value, 0);
        return sb.toString();
    }

    private record Writer(StringBuilder sb, String indent) {
        void value(Object v, int depth) {
            if (depth >= MAX_DEPTH) throw new IllegalArgumentException("nesting deeper than " + MAX_DEPTH + " (a cycle?)");
            switch (v) {
                case null -> sb.append("null");
                case CharSequence cs -> string(cs);
                case Character c -> string(String.valueOf(c));
                case Boolean b -> sb.append(b);
                case Number n -> number(n);
                case Map<?, ?> m -> object(m, depth);
                case Iterable<?> it -> array(it.iterator(), depth);
                default -> {
                    if (!v.getClass().isArray()) {
                        throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON");
                    }
                    array(arrayIterator(v), depth);
                }
            }
        }

        private void object(Map<?, ?> m, int depth) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
                }
                if (!first) sb.append(',');
                first = false;
                newline(depth + 1);
                string(key);
                sb.append(indent == null ? ":" : ": ");
                value(e.getValue(), depth + 1);
            }
            if (!first) newline(depth);
            sb.append('}');
        }

        private void array(Iterator<?> it, int depth) {
            sb.append('[');
            boolean first = true;
            while (it.hasNext()) {
                if (!first) sb.append(',');
                first = false;
                newline(depth + 1);
                value(it.next(), depth + 1);
            }
            if (!first) newline(depth);
            sb.append(']');
        }

        private void newline(int depth) {
            if (indent == null) return;
            sb.append('\n');
            sb.append(indent.repeat(depth));
        }

        private void number(Number n) {
            switch (n) {
                case Double d -> sb.append(doubleText(d));
                case Float f -> sb.append(Float.isFinite(f) ? Float.toString(f) : doubleText(f.doubleValue()));
                case BigDecimal bd -> sb.append(bd.toString());
                case BigInteger bi -> sb.append(bi.toString());
                default -> sb.append(n.longValue());
            }
        }

        private static String doubleText(double d) {
            if (Double.isNaN(d)) return "NaN";
            if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
            return Double.toString(d); // shortest text that reads back to the same double
        }

        private void string(CharSequence cs) {
            sb.append('"');
            for (int i = 0; i < cs.length(); i++) {
                char c = cs.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20) sb.append("\\u").append(hex4(c));
                        else sb.append(c);
                    }
                }
            }
            sb.append('"');
        }

        private static Iterator<Object> arrayIterator(Object array) {
            int n = java.lang.reflect.Array.getLength(array);
            return new Iterator<>() {
                int i;

                @Override public boolean hasNext() { return i < n; }

                @Override public Object next() { return java.lang.reflect.Array.get(array, i++); }
            };
        }
    }
}
