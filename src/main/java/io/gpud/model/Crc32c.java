package io.gpud.model;

/**
 * CRC32C arithmetic the JDK's {@link java.util.zip.CRC32C} lacks: combining the CRCs of two
 * consecutive byte ranges into the CRC of both, so pieces of one chunk read by different
 * threads can be checked against the chunk's single CRC.
 *
 * <p>Appending {@code n} bytes to a message multiplies its CRC register by {@code x^(8n)}
 * modulo the polynomial; this is done with 32×32 matrices over GF(2), squared once per bit
 * of {@code n} (log n work, independent of the bytes).
 */
final class Crc32c {
    /** The Castagnoli polynomial, bit-reversed. */
    private static final int POLY = 0x82F63B78;

    private Crc32c() {
    }

    /** The CRC of {@code A ‖ B} from {@code crcA}, {@code crcB} and B's length. */
    static int combine(int crcA, int crcB, long lengthB) {
        if (lengthB <= 0) {
            return crcA;
        }
        int[] even = new int[32];
        int[] odd = new int[32];
        odd[0] = POLY;
        int row = 1;
        for (int n = 1; n < 32; n++) {
            odd[n] = row;
            row <<= 1;
        }
        square(even, odd);
        square(odd, even);
        long len = lengthB;
        int crc = crcA;
        while (true) {
            square(even, odd);
            if ((len & 1) != 0) {
                crc = times(even, crc);
            }
            len >>>= 1;
            if (len == 0) {
                break;
            }
            square(odd, even);
            if ((len & 1) != 0) {
                crc = times(odd, crc);
            }
            len >>>= 1;
            if (len == 0) {
                break;
            }
        }
        return crc ^ crcB;
    }

    private static int times(int[] matrix, int vector) {
        int sum = 0;
        for (int i = 0; vector != 0; i++, vector >>>= 1) {
            if ((vector & 1) != 0) {
                sum ^= matrix[i];
            }
        }
        return sum;
    }

    private static void square(int[] result, int[] matrix) {
        for (int n = 0; n < 32; n++) {
            result[n] = times(matrix, matrix[n]);
        }
    }
}
