/**
 * Reading and writing arrays in NumPy's .npy and .npz formats and in safetensors, plus a small
 * JSON reader and writer. Readers validate a file completely before allocating, report problems
 * as {@link org.ood4j.engine.io.ArrayFormatException} naming the file, and leave nothing
 * allocated when they fail.
 */
package org.ood4j.engine.io;
