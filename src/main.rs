fn main() {
    // SAFETY: first statement of main, before any thread is spawned.
    unsafe { graftscan::compute::select::quiet_device_select_layer() };
    let code = graftscan::cli::run(std::env::args_os());
    std::process::exit(code);
}
