//! Running a job once its file is uploaded: parse it block by block (cancel checked between
//! blocks), then the core's bootstrap with the job's [`crate::progress::Progress`]. Runs on a
//! blocking thread.

use super::{cancelled_problem, Format, Job, JobReport, JobState};
use crate::bootstrap::{parse_word2vec_binary, TextFileReader};
use crate::error::NgError;
use crate::server::problem::Problem;
use crate::space::{parse_space, SPACE_NAMES};
use crate::storage::bootstrap::BootOptions;
use crate::storage::events::with_origin;
use crate::storage::RuntimeStorage;
use std::path::Path;
use std::sync::atomic::Ordering;

/// The order in which `spaces: ["auto"]` fills the spaces (as `neurograph_lab._semantic`).
pub const AUTO_SPACES: [&str; 8] = [
    "abstract",
    "cognitive",
    "temporal",
    "social",
    "emotional",
    "motor",
    "sensory",
    "physical",
];

/// Test hook: the bootstrap of the next job that gets that far waits at this point (see
/// [`crate::progress::Pause`]) until cancelled (or resumed through its progress), so that a
/// test can cancel it at a known point instead of after a guessed delay.
pub static PAUSE_NEXT: parking_lot::Mutex<Option<crate::progress::Pause>> =
    parking_lot::Mutex::new(None);

/// The progress of the job [`PAUSE_NEXT`] last paused ([`resume_paused`] lets it go on).
static PAUSED: parking_lot::Mutex<Option<std::sync::Arc<crate::progress::Progress>>> =
    parking_lot::Mutex::new(None);

/// Test hook: let the job paused by [`PAUSE_NEXT`] go on; `false` when none was paused.
pub fn resume_paused() -> bool {
    match PAUSED.lock().take() {
        Some(p) => {
            p.resume();
            true
        }
        None => false,
    }
}

/// Neighbours woven per word unless the job says otherwise.
pub const DEFAULT_K: usize = 10;

type Failure = (JobState, Problem);

fn failed(p: Problem) -> Failure {
    (JobState::Failed, p)
}

/// The spaces `names` ask for (`None` or `["auto"]`: as many as `n` words of `dim`
/// dimensions fill, at least one), as indices.
pub fn resolve_spaces(
    names: Option<&[String]>,
    n: usize,
    dim: usize,
) -> Result<Vec<usize>, Problem> {
    match names {
        None => auto(n, dim),
        Some([one]) if one.eq_ignore_ascii_case("auto") => auto(n, dim),
        Some(list) => list
            .iter()
            .map(|s| parse_space(s).map_err(|e| Problem::invalid("spaces", e.to_string())))
            .collect(),
    }
}

fn auto(n: usize, dim: usize) -> Result<Vec<usize>, Problem> {
    let count = (n.min(dim) / 3).clamp(1, AUTO_SPACES.len());
    AUTO_SPACES[..count]
        .iter()
        .map(|s| parse_space(s).map_err(|e| Problem::invalid("spaces", e.to_string())))
        .collect()
}

/// Words, row-major vectors, dimension and skipped lines read from the uploaded file.
struct Parsed {
    words: Vec<String>,
    data: Vec<f32>,
    dim: usize,
    skipped: usize,
}

/// The file's name in messages (never the temporary path on the server).
fn shown(job: &Job) -> String {
    job.options
        .name
        .clone()
        .unwrap_or_else(|| "the uploaded file".into())
}

fn parse(job: &Job, file: &Path) -> Result<Parsed, Failure> {
    let name = shown(job);
    let skip = job.options.errors.as_deref() == Some("skip");
    let max_words = job.options.max_words;
    let cant_read = || Problem::internal();
    match job.format {
        Format::Word2vecBin => {
            let buf = std::fs::read(file).map_err(|_| failed(cant_read()))?;
            let b = parse_word2vec_binary(&buf, max_words)
                .map_err(|p| failed(Problem::invalid("file", format!("{name}: {}", p.problem))))?;
            job.parsed.store(buf.len() as u64, Ordering::Relaxed);
            Ok(Parsed {
                words: b.words,
                data: b.data,
                dim: b.dim,
                skipped: 0,
            })
        }
        Format::Text => {
            let mut r =
                TextFileReader::open(file, max_words, skip).map_err(|_| failed(cant_read()))?;
            loop {
                if job.cancelled() {
                    return Err((JobState::Cancelled, cancelled_problem()));
                }
                match r.next_block() {
                    Ok(Some(n)) => {
                        job.parsed.fetch_add(n as u64, Ordering::Relaxed);
                    }
                    Ok(None) => break,
                    Err(e) => return Err(failed(file_problem(&name, e, skip))),
                }
            }
            let t = r
                .finish()
                .map_err(|e| failed(file_problem(&name, e, skip)))?;
            Ok(Parsed {
                words: t.words,
                data: t.data,
                dim: t.dim,
                skipped: t.skipped,
            })
        }
    }
}

/// A problem reading the file, naming the user's file (not the server's path).
fn file_problem(name: &str, e: NgError, skip: bool) -> Problem {
    match e {
        NgError::InvalidFile { reason, .. } => {
            let hint = if !skip && reason.starts_with("line ") {
                "; to skip such lines (they are counted in the report), set errors to \"skip\""
            } else {
                ""
            };
            Problem::invalid("file", format!("{name}: {reason}{hint}"))
        }
        _ => Problem::internal(),
    }
}

/// Parse the job's file and bootstrap it into `store` as `origin`; `moved` is called when
/// the job moves to `bootstrapping`.
pub fn run(
    job: &Job,
    store: &RuntimeStorage,
    file: &Path,
    origin: &str,
    moved: &dyn Fn(),
) -> Result<JobReport, Failure> {
    let started = std::time::Instant::now();
    let p = parse(job, file)?;
    if job.cancelled() {
        return Err((JobState::Cancelled, cancelled_problem()));
    }
    let spaces =
        resolve_spaces(job.options.spaces.as_deref(), p.words.len(), p.dim).map_err(failed)?;
    let names = spaces.iter().map(|s| SPACE_NAMES[*s].to_string()).collect();
    if !job.set_state(JobState::Bootstrapping) {
        return Err((JobState::Cancelled, cancelled_problem()));
    }
    moved();
    let opt = BootOptions {
        spaces,
        k: job.options.k.unwrap_or(DEFAULT_K),
        seed: job.options.seed.unwrap_or(0),
        replace: job.options.replace.unwrap_or(false),
        progress: Some(job.progress.clone()),
    };
    if let Some(at) = PAUSE_NEXT.lock().take() {
        job.progress.pause_at(at);
        *PAUSED.lock() = Some(job.progress.clone());
    }
    // a cancel that came while parsing ended: make the bootstrap stop at its first check
    if job.cancelled() {
        job.progress.cancel();
    }
    let r = with_origin(origin, || store.bootstrap(p.words, p.data, p.dim, &opt));
    match r {
        Ok(r) => Ok(JobReport::new(
            r,
            names,
            p.skipped,
            started.elapsed().as_secs_f64(),
        )),
        Err(e) if matches!(e.root(), NgError::Interrupted) => {
            Err((JobState::Cancelled, cancelled_problem()))
        }
        Err(e) => Err(failed(Problem::from(e))),
    }
}
