package org.ood4j.spark;

/**
 * Spark reports a task's exception wrapped in a SparkException (with the stage and task in its
 * message); a bad row is the user's error, so the IllegalArgumentException that named it is
 * rethrown on the driver as it was.
 */
final class SparkErrors {
    private SparkErrors() {}

    static void unwrapped(Runnable job) {
        unwrapped(() -> {
            job.run();
            return null;
        });
    }

    static <T> T unwrapped(java.util.function.Supplier<T> job) {
        try {
            return job.get();
        } catch (Exception e) {   // SparkException is checked, though Scala code throws it from methods that do not declare it
            IllegalArgumentException cause = badInput(e);
            if (cause != null && cause != e) throw new IllegalArgumentException(cause.getMessage(), e);
            throw SparkErrors.<RuntimeException>rethrow(e);
        }
    }

    /** Throws {@code e} as it is (checked or not), as the Spark call that threw it did. */
    @SuppressWarnings("unchecked")
    private static <T extends Exception> T rethrow(Exception e) throws T {
        throw (T) e;
    }

    /** The first IllegalArgumentException in the cause chain, or null. */
    static IllegalArgumentException badInput(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalArgumentException iae) return iae;
        }
        return null;
    }
}
