using System.Globalization;
using System.Text;

namespace OrleansLlm.Benchmarks;

/// <summary>The overhead scenario's section: each run's per-item costs, each master's share on a cluster, issue 23's goals, and the fleet they allow.</summary>
public static class OverheadReport
{
    /// <summary>A CPU Ollama: 2 slots at 2 s per item.</summary>
    public const double CpuPodItemsPerSecond = 1;

    /// <summary>A GPU server batching short prompts continuously.</summary>
    public const double GpuPodItemsPerSecond = 1000;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The whole section, or nothing when the scenario did not run.</summary>
    public static string Section(IReadOnlyList<OverheadResult> runs, IReadOnlyList<QueueCostResult> queueCosts)
    {
        if (runs.Count == 0)
        {
            return string.Empty;
        }

        var md = new StringBuilder();
        md.AppendLine("## Per-item cost");
        md.AppendLine();
        md.AppendLine(string.Create(Inv, $"Two silo processes (the built `src/Silo`), each beside its own simulator at time scale 0 ({Overhead.Slots} slots, every answer instant; ") +
            string.Create(Inv, $"`Worker:MaxConcurrency` {Overhead.Slots}, every other setting at its default). Warm-up batches of {Overhead.WarmUpItems:N0} cities go first, ") +
            string.Create(Inv, $"until the silos' JIT compiled fewer methods during one than {Overhead.SettledJitShare:P0} of all it compiled so far (at most {Overhead.MaxWarmUps}): tiered compilation goes on for tens of thousands of items, and a long-running pod runs settled code; **JIT** is what the runtime compiled during the measured batch (`dotnet.jit.compiled_methods`, and `dotnet.jit.compilation.time`: the compiler's wall time, on a background thread). Then the cities go as one batch through the built CLI, ") +
            "`orleansllm submit data/worldcities.csv --limit N --wait`, timed from the CLI's start to the last result's `completed_at`. Counters are read just before the CLI starts and just after it exits. " +
            "Then `orleansllm results` downloads the batch and every id is checked for exactly one result. Runs alternate between builds, the baseline first in odd rounds and second in even ones (baseline, current, current, baseline, ...).");
        md.AppendLine();
        md.Append(Table(runs));
        md.AppendLine();
        md.AppendLine("**Redis commands** = every command Redis executed (`INFO commandstats`), those inside scripts included, the harness's own `INFO` left out: the CLI's submit and its polling (every 0.5 s), the silos' leases, settles, renewals, heartbeats and membership; " +
            "**script calls** = EVALSHA round trips; **Redis CPU** = `used_cpu_user + used_cpu_sys` of every master; **silo CPU** = utime + stime of the two silo processes (`/proc/PID/stat`); " +
            "**CLI CPU** = the CLI process's own, apart; **sims** = the harness process, where both simulators run; **lost / twice** = ids without a result, results of an id seen before, and Ollama answers beyond one per result.");
        md.AppendLine();
        md.Append(Shares(runs));
        md.Append(Goals(runs));
        md.Append(Fleet(runs));
        md.Append(QueueAlone(queueCosts));
        return md.ToString();
    }

    /// <summary>The queue's scripts alone (<see cref="QueueCost"/>): Redis CPU per item by phase, for each size of lease call and complete group.</summary>
    private static string QueueAlone(IReadOnlyList<QueueCostResult> costs)
    {
        if (costs.Count == 0)
        {
            return string.Empty;
        }

        var md = new StringBuilder();
        md.AppendLine("### The queue's scripts alone");
        md.AppendLine();
        md.AppendLine(string.Create(Inv, $"The same {costs[0].Items:N0} cities (this build only) enqueued, leased and completed by the harness through the queue's own types (`RedisQueueItems`, `RedisLeaseQueue`), one call at a time, ") +
            "with no silo, simulator or CLI running: Redis has a core to itself, so its CPU is the scripts' own, as on a Redis with a core of its own in production. " +
            "The answers are result documents built as the worker builds them. Per phase: Redis CPU per item (per script call).");
        md.AppendLine();
        md.AppendLine("| items per lease call | answers per complete call | enqueue | lease | complete | Redis CPU per item | Redis commands per item | items/s one Redis core carries |");
        md.AppendLine("|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var c in costs)
        {
            md.AppendLine(Inv, $"| {c.LeaseSize} | {c.GroupSize} | {Phase(c.Enqueue)} | {Phase(c.Lease)} | {Phase(c.Complete)} | **{c.MicrosecondsPerItem:0.0} µs** " +
                $"| {c.Enqueue.CommandsPerItem + c.Lease.CommandsPerItem + c.Complete.CommandsPerItem:0.0} | {c.ItemsPerCoreSecond:N0} |");
        }

        md.AppendLine();
        return md.ToString();

        static string Phase(QueueCostPhase p) => string.Create(Inv, $"{p.MicrosecondsPerItem:0.0} µs ({p.MicrosecondsPerCall:0} µs a call)");
    }

    private static string Table(IReadOnlyList<OverheadResult> runs)
    {
        var md = new StringBuilder();
        md.AppendLine("| build | Redis | round | items | time | items/s | Redis commands per item | script calls per item | Redis CPU per item | silo CPU per item | silo allocations per item | JIT: methods, s | warm-ups | CLI CPU per item | sims CPU per item | lost / twice | load average (1 min → after) |");
        md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
        foreach (var r in runs)
        {
            if (r.Error is not null)
            {
                md.AppendLine(Inv, $"| {r.Build} | {Where(r)} | {r.Round} | {r.Items:N0} | **failed**: {r.Error} | | | | | | | | | | | | {r.Load} |");
                continue;
            }

            md.AppendLine(Inv, $"| {r.Build} | {Where(r)} | {r.Round} | {r.Items:N0} | {r.Seconds:0.00} s | **{r.ItemsPerSecond:N0}** | {r.RedisCommandsPerItem:0.0} | {r.ScriptCallsPerItem:0.00} " +
                $"| **{r.RedisMicrosecondsPerItem:0} µs** | **{r.SiloMicrosecondsPerItem:0} µs** | {r.SiloKilobytesPerItem:0.0} KB | {r.SiloJitMethods:N0}, {r.SiloJitSeconds:0.00} s | {r.WarmUps} | {r.CliMicrosecondsPerItem:0} µs | {r.HarnessCpuSeconds * 1e6 / r.Items:0} µs " +
                $"| {r.Missing} / {r.Duplicated} / {r.ExtraCalls} | {r.Load} |");
        }

        return md.ToString();
    }

    private static string Shares(IReadOnlyList<OverheadResult> runs)
    {
        var cluster = runs.Where(r => r.Error is null && r.Masters.Count > 1).ToArray();
        if (cluster.Length == 0)
        {
            return string.Empty;
        }

        var md = new StringBuilder();
        md.AppendLine("On the Redis Cluster, each master's share (masters by port):");
        md.AppendLine();
        md.AppendLine("| build | round | shards | share of the Redis CPU | share of the commands |");
        md.AppendLine("|---|--:|--:|---|---|");
        foreach (var r in cluster)
        {
            md.AppendLine(Inv, $"| {r.Build} | {r.Round} | {r.Shards} | {Join(r.CpuShares)} | {Join(r.CommandShares)} |");
        }

        md.AppendLine();
        return md.ToString();
    }

    /// <summary>Issue 23's goals, against this build's runs (the last build of each round), the baseline's beside them.</summary>
    private static string Goals(IReadOnlyList<OverheadResult> runs)
    {
        var ok = runs.Where(r => r.Error is null).ToArray();
        var current = ok.Where(r => !r.Build.StartsWith("baseline", StringComparison.Ordinal)).ToArray();
        var baseline = ok.Where(r => r.Build.StartsWith("baseline", StringComparison.Ordinal)).ToArray();
        var single = current.Where(r => r.Redis == BenchmarkOptions.SingleRedis).ToArray();
        var cluster = current.Where(r => r.Redis == BenchmarkOptions.ClusterRedis).ToArray();
        var rows = new List<string>();
        string Mark(bool met) => met ? "met" : "**not met**";
        string Was(Func<OverheadResult, double> value, string redis) =>
            baseline.Where(r => r.Redis == redis).ToArray() is { Length: > 0 } b ? $" (baseline {Range(b, value)})" : string.Empty;
        if (single.Length > 0)
        {
            rows.Add($"| Redis CPU ≤ 25 µs per item at Shards 1 | {Range(single, r => r.RedisMicrosecondsPerItem)}{Was(r => r.RedisMicrosecondsPerItem, BenchmarkOptions.SingleRedis)} | {Mark(single.All(r => r.RedisMicrosecondsPerItem <= 25))} |");
            rows.Add($"| silo CPU ≤ 150 µs per item | {Range(single, r => r.SiloMicrosecondsPerItem)}{Was(r => r.SiloMicrosecondsPerItem, BenchmarkOptions.SingleRedis)} | {Mark(single.All(r => r.SiloMicrosecondsPerItem <= 150))} |");
        }

        if (cluster.Length > 0)
        {
            var shares = cluster.SelectMany(r => r.CpuShares).ToArray();
            rows.Add(string.Create(Inv, $"| on the 3-master cluster at Shards {cluster[0].Shards}, every master carries 25–42% of the Redis CPU | {Percent(shares.Min())} to {Percent(shares.Max())} | {Mark(shares.All(s => s is >= 0.25 and <= 0.42))} |"));
        }

        if (current.Length > 0)
        {
            rows.Add($"| no item lost or done twice | {current.Sum(r => r.Missing)} lost, {current.Sum(r => r.Duplicated + r.ExtraCalls)} twice, over {current.Length} run(s) | {Mark(current.All(r => !r.Failed))} |");
        }

        if (rows.Count == 0)
        {
            return string.Empty;
        }

        var md = new StringBuilder();
        md.AppendLine("| goal (issue 23) | measured (current build) | |");
        md.AppendLine("|---|---|---|");
        rows.ForEach(r => md.AppendLine(r));
        md.AppendLine();
        return md.ToString();
    }

    private static string Fleet(IReadOnlyList<OverheadResult> runs)
    {
        var md = new StringBuilder();
        md.AppendLine("### The fleet one Redis serves");
        md.AppendLine();
        md.AppendLine(string.Create(Inv, $"From the per-item costs above (the mean of each build's rounds): one Redis core carries 1,000,000 µs ÷ Redis CPU per item, items per second; N shards on N masters carry N times that if the items spread evenly, ") +
            "and on the measured cluster as much as its busiest master allows (1,000,000 µs ÷ (Redis CPU per item × that master's share)). " +
            string.Create(Inv, $"Pods it serves before Redis is the bottleneck: a CPU Ollama answering in 2 s with 2 slots ({CpuPodItemsPerSecond:0} item/s per pod), a GPU server at {GpuPodItemsPerSecond:N0} items/s per pod. ") +
            "Silo cores per 1,000 items/s = silo CPU per item × 1,000 items/s.");
        md.AppendLine();
        md.AppendLine("| build | Redis | Redis CPU per item | items/s | CPU-Ollama pods | GPU pods | silo CPU per item | silo cores per 1,000 items/s |");
        md.AppendLine("|---|---|--:|--:|--:|--:|--:|--:|");
        foreach (var group in runs.Where(r => r.Error is null).GroupBy(r => (r.Build, r.Redis)))
        {
            var redis = group.Average(r => r.RedisMicrosecondsPerItem);
            var silo = group.Average(r => r.SiloMicrosecondsPerItem);
            var lines = group.Key.Redis == BenchmarkOptions.SingleRedis
                ? new[] { ("1 core (Shards 1)", 1e6 / redis), (string.Create(Inv, $"{Overhead.ClusterShards} shards on {Overhead.ClusterShards} cores, spread evenly"), Overhead.ClusterShards * 1e6 / redis) }
                : [(string.Create(Inv, $"the {group.First().Masters.Count}-master cluster, as measured (busiest master {Percent(group.Average(r => r.CpuShares.Max()))})"), 1e6 / group.Average(r => r.RedisMicrosecondsPerItem * r.CpuShares.Max()))];
            foreach (var (label, itemsPerSecond) in lines)
            {
                md.AppendLine(Inv, $"| {group.Key.Build} | {label} | {redis:0} µs | **{itemsPerSecond:N0}** | {itemsPerSecond / CpuPodItemsPerSecond:N0} | {itemsPerSecond / GpuPodItemsPerSecond:N1} | {silo:0} µs | {silo / 1000:0.00} |");
            }
        }

        md.AppendLine();
        return md.ToString();
    }

    private static string Where(OverheadResult r) =>
        r.Redis == BenchmarkOptions.SingleRedis ? "single" : string.Create(Inv, $"cluster of {Overhead.ClusterShards} masters, Shards {r.Shards}");

    private static string Range(IReadOnlyList<OverheadResult> runs, Func<OverheadResult, double> value)
    {
        var (low, high) = (runs.Min(value), runs.Max(value));
        return Math.Round(low) == Math.Round(high) ? string.Create(Inv, $"{low:0} µs") : string.Create(Inv, $"{low:0}–{high:0} µs");
    }

    private static string Join(IReadOnlyList<double> shares) => string.Join(" · ", shares.Select(Percent));

    private static string Percent(double share) => string.Create(Inv, $"{share * 100:0}%");
}
