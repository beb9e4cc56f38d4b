package org.ood4j.engine.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class JsonTest {

    @Test
    void parsesScalars() {
        assertEquals(Boolean.TRUE, Json.parse("true"));
        assertEquals(Boolean.FALSE, Json.parse(" false "));
        assertNull(Json.parse("null"));
        assertEquals("hi", Json.parse("\"hi\""));
        assertEquals(42L, Json.parse("42"));
        assertEquals(-7L, Json.parse("-7"));
        assertEquals(0L, Json.parse("0"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(1.5, Json.parse("1.5"));
        assertEquals(-0.0, Json.parse("-0.0"));
        assertEquals(3.8e-06, Json.parse("3.8e-06"));
        assertEquals(1e10, Json.parse("1E+10"));
        assertEquals(2.0, Json.parse("2e0"));
    }

    @Test
    void integersTooLargeForLongBecomeDoubles() {
        assertEquals(1e20, Json.parse("100000000000000000000"));
    }

    @Test
    void acceptsPythonNonFiniteTokens() {
        assertTrue(Double.isNaN((Double) Json.parse("NaN")));
        assertEquals(Double.POSITIVE_INFINITY, Json.parse("Infinity"));
        assertEquals(Double.NEGATIVE_INFINITY, Json.parse("-Infinity"));
    }

    @Test
    void parsesNestedStructuresInOrder() {
        Object v = Json.parse("{\"b\": [1, 2.5, \"x\", null, true], \"a\": {\"c\": []}, \"e\": {}}");
        Map<?, ?> m = assertInstanceOf(LinkedHashMap.class, v);
        assertEquals(List.of("b", "a", "e"), new ArrayList<>(m.keySet()));
        assertEquals(Arrays.asList(1L, 2.5, "x", null, true), m.get("b"));
        assertEquals(Map.of("c", List.of()), m.get("a"));
        assertEquals(Map.of(), m.get("e"));
    }

    @Test
    void decodesEscapes() {
        assertEquals("a\"b\\c/d\b\f\n\r\t", Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""));
        assertEquals("é", Json.parse("\"\\u00e9\""));
        assertEquals("é", Json.parse("\"\\u00E9\""));
        assertEquals("\uD83D\uDE00", Json.parse("\"\\ud83d\\ude00\""));
        assertEquals("ünïcödé", Json.parse("\"ünïcödé\""));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''|unexpected end of input|0",
        "'{\"a\": 1,}'|expected a string key|8",
        "'[1, 2,]'|expected a value|6",
        "'[1 2]'|expected ',' or ']'|3",
        "'{\"a\" 1}'|expected ':'|5",
        "'\"abc'|unterminated string|0",
        "'\"a\\qb\"'|bad escape|3",
        "'\"\\u12G4\"'|bad hex digit|5",
        "'\"\\u12\"'|truncated \\u escape|2",
        "'01'|leading zero|1",
        "'1.'|digit after the decimal point|2",
        "'1e'|digit in the exponent|2",
        "'-'|expected a digit|1",
        "'tru'|expected a value|0",
        "'{\"a\": 1} x'|after the value|9",
        "'{\"a\": 1, \"a\": 2}'|duplicate key \"a\"|9",
        "'[nul]'|expected a value|1",
    })
    void reportsErrorsWithPosition(String text, String problem, int position) {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().contains(problem), e.getMessage());
        assertEquals(position, e.position(), e.getMessage());
        assertTrue(e.getMessage().contains("offset " + position), e.getMessage());
    }

    @Test
    void errorGivesLineAndColumn() {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse("{\n  \"a\": 1,\n  \"b\": ?\n}"));
        assertEquals(3, e.line());
        assertEquals(8, e.column());
        assertTrue(e.getMessage().contains("line 3, column 8"), e.getMessage());
    }

    @Test
    void refusesRawControlCharactersInStrings() {
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse("\"a\nb\""));
        assertTrue(e.getMessage().contains("control character U+000A"), e.getMessage());
    }

    @Test
    void refusesDeepNestingWithoutStackOverflow() {
        String deep = "[".repeat(100_000) + "]".repeat(100_000);
        Json.ParseException e = assertThrows(Json.ParseException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nesting deeper than"), e.getMessage());
        String ok = "[".repeat(100) + "]".repeat(100);
        assertInstanceOf(List.class, Json.parse(ok));
    }

    @Test
    void writesCompactly() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"\\\n\u0001é");
        m.put("i", 3);
        m.put("l", -4L);
        m.put("d", 0.1);
        m.put("whole", 2.0);
        m.put("f", 1.5f);
        m.put("b", true);
        m.put("n", null);
        m.put("list", List.of(1, "two"));
        m.put("longs", new long[] {5, 6});
        m.put("empty", Map.of());
        assertEquals("{\"s\":\"q\\\"\\\\\\n\\u0001é\",\"i\":3,\"l\":-4,\"d\":0.1,\"whole\":2.0,\"f\":1.5,\"b\":true,"
                + "\"n\":null,\"list\":[1,\"two\"],\"longs\":[5,6],\"empty\":{}}", Json.write(m));
    }

    @Test
    void writesPretty() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", List.of(1L, 2L));
        m.put("b", Map.of());
        assertEquals("{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}", Json.writePretty(m));
        assertEquals(m, Json.parse(Json.writePretty(m)));
    }

    @Test
    void nonFiniteDoublesRoundTripAsPythonTokens() {
        String text = Json.write(List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY));
        assertEquals("[NaN,Infinity,-Infinity]", text);
        List<?> back = (List<?>) Json.parse(text);
        assertTrue(Double.isNaN((Double) back.get(0)));
        assertEquals(Double.POSITIVE_INFINITY, back.get(1));
        assertEquals(Double.NEGATIVE_INFINITY, back.get(2));
    }

    @Test
    void doublesRoundTripExactly() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int i = 0; i < 2000; i++) {
            double d = Double.longBitsToDouble(rng.nextLong());
            if (!Double.isFinite(d)) continue;
            assertEquals(d, (Double) Json.parse(Json.write(d)));
            double g = rng.nextGaussian() * 1e-3;
            assertEquals(g, (Double) Json.parse(Json.write(g)));
        }
    }

    @Test
    void stringsRoundTrip() {
        StringBuilder all = new StringBuilder();
        for (char c = 0; c < 0x300; c++) all.append(c);
        all.append("\uD83D\uDE00\u2028");
        assertEquals(all.toString(), Json.parse(Json.write(all.toString())));
    }

    @Test
    void refusesWhatItCannotWrite() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        Map<Object, Object> m = new LinkedHashMap<>();
        m.put(1, "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.write(m));
        assertTrue(e.getMessage().contains("keys must be strings"), e.getMessage());
    }
}
