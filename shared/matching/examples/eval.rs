//! Prints mean NDCG@10 of the matcher and baselines on the labelled set.
//!
//! ```text
//! cargo run -p nexus-matching --example eval            # report
//! cargo run -p nexus-matching --example eval -- --json  # the set itself, as JSON
//! cargo run -p nexus-matching --example eval -- --seed 7 --per-campaign
//! ```

use nexus_matching::eval::{self, EvalSet};
use nexus_matching::eval_text;
use nexus_matching::LocalHashingVectoriser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = match args.iter().position(|a| a == "--seed") {
        Some(i) => args
            .get(i + 1)
            .ok_or("--seed needs a value")?
            .parse::<u64>()?,
        None => eval::DEFAULT_SEED,
    };
    let set: EvalSet = eval::generate(seed, eval::DEFAULT_CAMPAIGNS, eval::DEFAULT_CANDIDATES);
    if args.iter().any(|a| a == "--json") {
        println!("{}", serde_json::to_string_pretty(&set)?);
        return Ok(());
    }
    let k = 10;
    let report = eval::evaluate(&set, &LocalHashingVectoriser::default(), k).await?;
    let candidates: usize = set.campaigns.iter().map(|c| c.candidates.len()).sum();
    println!(
        "{} campaigns, {candidates} labelled candidates, seed {seed}, embedder {}",
        set.campaigns.len(),
        report.embedder
    );
    println!("mean NDCG@{k}");
    for (name, v) in [
        ("matcher (rank)", report.ours),
        ("embedding cosine only", report.embedding_only),
        ("niche overlap only", report.niche_only),
        ("reputation only", report.reputation_only),
        ("random (mean of shuffles)", report.random),
    ] {
        println!("  {name:<26} {v:.3}");
    }
    let print_ablation = |title: &str, a: &eval_text::Ablation| {
        println!(
            "\n{title}: mean NDCG@{} = {:.3}; without each factor:",
            a.k, a.full
        );
        for (f, v) in &a.without {
            println!(
                "  without {:<20} {v:.3}  ({:+.3})",
                format!("{f:?}"),
                v - a.full
            );
        }
    };
    let embedder = LocalHashingVectoriser::default();
    print_ablation(
        "rule-labelled set (above)",
        &eval_text::ablation(&set, &embedder, k).await?,
    );
    for (wording, what) in [
        (
            eval_text::Wording::Shared,
            "on-topic bios in the brief's words",
        ),
        (eval_text::Wording::Paraphrased, "on-topic bios paraphrased"),
    ] {
        let text = eval_text::text_set(eval_text::TEXT_SEED, wording);
        let a = eval_text::ablation(&text, &embedder, k).await?;
        print_ablation(&format!("text-labelled set, {what}"), &a);
    }
    if args.iter().any(|a| a == "--per-campaign") {
        println!("\ncampaign  labels[0,1,2,3]      ours  reputation  random");
        for c in &report.per_campaign {
            println!(
                "{:<9} {:<20} {:.3}  {:.3}       {:.3}",
                c.campaign_id,
                format!("{:?}", c.label_counts),
                c.ours,
                c.reputation_only,
                c.random
            );
        }
    }
    Ok(())
}
