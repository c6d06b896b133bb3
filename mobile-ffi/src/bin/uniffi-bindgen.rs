//! Generates the Kotlin, Swift and Python bindings from the built library:
//! `cargo run -p mobile-ffi --bin uniffi-bindgen -- generate --library
//! target/debug/libgocua_mobile.so --language kotlin --out-dir out/`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
