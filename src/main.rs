use std::process::ExitCode;

#[actix_web::main]
async fn main() -> ExitCode {
    match relais::cli::run(relais::cli::Cli::parse_in_french()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("relais : {error:#}");
            ExitCode::FAILURE
        }
    }
}
