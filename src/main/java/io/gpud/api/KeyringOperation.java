package io.gpud.api;

/** The keyring operations of {@code gpud keyring}, after {@code consul keyring}. */
public enum KeyringOperation {
    /** Accept packets sealed with the key. */
    INSTALL,
    /** Seal outgoing packets with the key (it must be installed). */
    USE,
    /** Stop accepting the key (it must not be in use). */
    REMOVE
}
