/* Preloaded by run.sh in front of libfocal: a library reporting version
 * 2.0.0, to check that the Rust binding refuses it at first use. */
unsigned focal_version_number(void) { return 20000u; }
