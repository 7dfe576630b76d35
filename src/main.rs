//! The `nasc` binary; everything lives in the library (`nasc::cli`).

fn main() -> std::process::ExitCode {
    nasc::cli::main()
}
