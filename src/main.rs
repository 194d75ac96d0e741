fn main() {
    let code = graftscan::cli::run(std::env::args_os());
    std::process::exit(code);
}
