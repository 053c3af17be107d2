using System.Globalization;
using System.Text;

namespace OrleansLlm.Benchmarks;

/// <summary>The markdown: one table per scenario, and around them everything needed to judge and reproduce it.</summary>
public static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The line that ends the generated report: whatever follows it in the file is kept when the report is rewritten.</summary>
    public const string KeepBelowMarker = "<!-- End of the generated report. Sections below this line are written by hand and kept when the benchmark rewrites this file. -->";

    public static string Tables(IReadOnlyList<RunResult> results, IReadOnlyList<ScaleResult> scales, BenchmarkOptions options)
    {
        var md = new StringBuilder();
        foreach (var name in Scenario.Names)
        {
            var scenario = Scenario.Named(name);
            if (scenario.Kind == ScenarioKind.Scale)
            {
                foreach (var scale in scales)
                {
                    md.Append(ScaleSection(scenario, scale));
                }

                continue;
            }

            var group = results.Where(r => r.Scenario == name && r.FixedLimit is null).ToArray();
            if (group.Length == 0)
            {
                continue;
            }

            var first = group[0];
            md.AppendLine(Inv, $"### {scenario.Title}");
            md.AppendLine();
            md.AppendLine(Inv, $"Backends: {string.Join(", ", scenario.Backends.Select((b, i) => $"#{i} {b}"))}; {first.Items:N0} items; time scale {first.TimeScale}; ideal makespan {first.IdealSeconds:0.0} s.");
            md.AppendLine();
            if (scenario.Backends.FirstOrDefault(b => b.CliffAt is not null) is { } cliff)
            {
                md.AppendLine(Inv, $"Utilisation counts every slot: at the peak ({cliff.Peak(options.ScalingExponent)} in flight of {cliff.Parallel}) a backend is at most {(double)cliff.Peak(options.ScalingExponent) / cliff.Parallel:P1} busy, so here throughput (items/s, and the sweep below) is the measure.");
                md.AppendLine();
            }

            md.AppendLine("| design | makespan | ÷ ideal | utilisation | items/s | queue wait p50 / p99 | wait p99 ÷ service | end-to-end p50 / p99 | lost | extra calls / dup. results | served (utilisation) per backend |");
            md.AppendLine("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
            foreach (var r in group)
            {
                md.AppendLine(Row($"**{r.Design}**", r));
            }

            md.AppendLine();
            foreach (var r in group)
            {
                md.AppendLine(Inv, $"- {r.Design}: {r.Description}{(r.Error is null ? "" : $" — **failed**: {r.Error}")}");
                if (r.WaitP99OverServicePerBackend.Count > 0)
                {
                    md.AppendLine(Inv, $"  - wait p99 ÷ service per backend: {string.Join(" · ", r.WaitP99OverServicePerBackend.Select(v => v.ToString("0.00", Inv)))}");
                }

                if (r.Limits is { Count: > 0 } limits)
                {
                    md.AppendLine(Inv, $"  - concurrency limit, sampled once a second from start-up: {string.Join("; ", limits.Select((l, i) => $"backend {i}: {RunLength(l)}"))}");
                    md.AppendLine(Inv, $"  - settled at (the limit held longest in the second half): {string.Join(" · ", limits.Select(l => Settled(l)?.ToString(Inv) ?? "–"))}");
                }

                if (r.Design == "D" && r.Fill.Count > 0)
                {
                    md.AppendLine(Inv, $"  - first item → peak in flight (slots, or the cliff's peak): {string.Join(" · ", r.Fill.Select(Fill))}");
                }

                if (r.Design == "D" && r.Loss.Count > 0)
                {
                    md.AppendLine(Inv, $"  - where the idle slot-seconds went (ready list empty at {r.QueueEmptySeconds:0.0} s): {LossSplit.Describe(r.Loss)}");
                }
            }

            md.AppendLine();
            md.Append(SweepSection(results.Where(r => r.Scenario == name).ToArray()));
            md.Append(ServerReport.Section(scenario, results));
        }

        return md.ToString();
    }

    private static string Row(string label, RunResult r)
    {
        var makespan = double.IsNaN(r.MakespanSeconds) ? "failed" : $"{(r.TimedOut ? "> " : "")}{r.MakespanSeconds:0.0} s";
        return string.Create(Inv,
            $"| {label} | {makespan} | {(r.TimedOut ? "> " : "")}{r.Ratio:0.00} | {Percent(r.Utilisation)} | {r.ItemsPerSecond:0.0} | {Seconds(r.QueueWait.P50)} / {Seconds(r.QueueWait.P99)} | {r.WaitP99OverService:0.00} " +
            $"| {Seconds(r.EndToEnd.P50)} / {Seconds(r.EndToEnd.P99)} | {r.Lost} | {r.ExtraCalls} / {r.DuplicateResults} " +
            $"| {string.Join(" · ", r.ServedPerBackend.Select((n, i) => i < r.UtilisationPerBackend.Count ? $"{n} ({Percent(r.UtilisationPerBackend[i])})" : $"{n}"))} |");
    }

    private static string Fill(SlotFill f, int i) => f.ServiceTimes is { } times
        ? string.Create(Inv, $"#{i}: {f.Peak} after {times:0.0} service times ({f.ReachedSeconds - f.FirstItemSeconds:0.00} s; service {f.ServiceSeconds:0.000} s)")
        : $"#{i}: never {f.Peak}";

    /// <summary>The sweep of fixed limits, D beside it, and D's throughput per backend against the best of them.</summary>
    private static string SweepSection(IReadOnlyList<RunResult> runs)
    {
        var sweep = runs.Where(r => r.FixedLimit is not null).OrderBy(r => r.FixedLimit).ToArray();
        if (sweep.Length == 0)
        {
            return "";
        }

        var md = new StringBuilder();
        md.AppendLine("Sweep: C's co-located consumers at fixed parallelism P each (consumer i → backend i), the same items, to find the best fixed setting per backend:");
        md.AppendLine();
        md.AppendLine("| fixed P | makespan | ÷ ideal | utilisation | items/s | items/s per backend, whole run | items/s per backend, settled (½ to 9⁄10 of the makespan) | lost |");
        md.AppendLine("|--:|--:|--:|--:|--:|---|---|--:|");
        string Rates(IReadOnlyList<double> rates) => string.Join(" · ", rates.Select(v => v.ToString("0.00", Inv)));
        foreach (var r in sweep)
        {
            md.AppendLine(Inv, $"| {r.FixedLimit} | {r.MakespanSeconds:0.0} s | {r.Ratio:0.00} | {Percent(r.Utilisation)} | {r.ItemsPerSecond:0.0} | {Rates(r.ItemsPerSecondPerBackend)} | {Rates(r.SettledItemsPerSecondPerBackend)} | {r.Lost} |");
        }

        if (runs.FirstOrDefault(r => r.Design == "D" && r.FixedLimit is null) is { } d)
        {
            md.AppendLine(Inv, $"| **D** | {d.MakespanSeconds:0.0} s | {d.Ratio:0.00} | {Percent(d.Utilisation)} | {d.ItemsPerSecond:0.0} | {Rates(d.ItemsPerSecondPerBackend)} | {Rates(d.SettledItemsPerSecondPerBackend)} | {d.Lost} |");
            md.AppendLine();
            var best = BestFixed(sweep, d.ItemsPerSecondPerBackend.Count, r => r.ItemsPerSecondPerBackend);
            var bestSettled = BestFixed(sweep, d.ItemsPerSecondPerBackend.Count, r => r.SettledItemsPerSecondPerBackend);
            md.AppendLine(Inv, $"D's items/s per backend ÷ the best fixed P's for that backend, whole run (D's climb and search included): {string.Join(" · ", d.ItemsPerSecondPerBackend.Select((v, i) => $"#{i} {v / best[i].Rate:P1} (best P = {best[i].Limit})"))}; " +
                $"settled: {string.Join(" · ", d.SettledItemsPerSecondPerBackend.Select((v, i) => $"#{i} {v / bestSettled[i].Rate:P1} (best P = {bestSettled[i].Limit})"))}.");
        }

        md.AppendLine();
        return md.ToString();
    }

    /// <summary>Per backend, the fixed limit of the sweep with the most items per second, and that rate.</summary>
    public static (int Limit, double Rate)[] BestFixed(IReadOnlyList<RunResult> sweep, int backends, Func<RunResult, IReadOnlyList<double>> rates) =>
        Enumerable.Range(0, backends).Select(i =>
        {
            var best = sweep.Where(r => i < rates(r).Count).MaxBy(r => rates(r)[i])!;
            return (best.FixedLimit!.Value, rates(best)[i]);
        }).ToArray();

    private static string ScaleSection(Scenario scenario, ScaleResult s)
    {
        var md = new StringBuilder();
        md.AppendLine(Inv, $"### {scenario.Title}");
        md.AppendLine();
        md.AppendLine(Inv, $"Each pod: one silo and its own Ollama, {scenario.Backends[0]}; {s.Items:N0} items pushed at once; time scale {s.TimeScale}. " +
            $"Every {s.PollInterval.TotalSeconds:0} s the scaler sets desired = ceil((LLEN ready + HLEN in-flight) ÷ {s.Target}) between {s.MinReplicas} and {s.MaxReplicas} pods " +
            $"(deploy/base/keda.yaml's formula); pods start one at a time, and a scale-down stops the newest pod through the silo's graceful shutdown, " +
            $"the path SIGTERM takes (the worker stops leasing, finishes or hands back what it holds, then the silo leaves). Design D only: A, B and C have no drain, " +
            $"so a consumer stopped mid-call loses what it popped.");
        md.AppendLine();
        if (s.Error is not null)
        {
            md.AppendLine(Inv, $"**Failed**: {s.Error}");
            md.AppendLine();
            return md.ToString();
        }

        md.AppendLine(Inv, $"Replicas: {string.Join(" → ", s.History.Select(h => $"{h.Replicas} ({h.Seconds:0.0} s)"))}.");
        md.AppendLine();
        md.AppendLine("| goodput | makespan | items/s | lost | dead letters | dup. results | first item after Active (max) | stop → exit (max) |");
        md.AppendLine("|--:|--:|--:|--:|--:|--:|--:|--:|");
        var firsts = s.Pods.Where(p => p.FirstItemAfterActiveSeconds is not null && p.Index > 0).Select(p => p.FirstItemAfterActiveSeconds!.Value).DefaultIfEmpty(double.NaN);
        var drains = s.Pods.Where(p => p.StopToExitSeconds is not null).Select(p => p.StopToExitSeconds!.Value).DefaultIfEmpty(double.NaN);
        md.AppendLine(Inv, $"| **{s.Goodput:P1}** | {s.MakespanSeconds:0.0} s | {s.ItemsPerSecond:0.0} | {s.Lost} | {s.DeadLettered} | {s.Duplicates} | {Seconds(firsts.Max())} | {Seconds(drains.Max())} |");
        md.AppendLine();
        md.AppendLine("| pod | asked for | start → Active | Active at | Active → first item | stop asked | stop → exit | served | busy ÷ available slot-seconds | goodput |");
        md.AppendLine("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        foreach (var p in s.Pods)
        {
            md.AppendLine(Inv, $"| {p.Index} | {(p.Index == 0 ? "before the push" : Seconds(p.RequestedSeconds))} | {(p.Index == 0 ? "–" : Seconds(p.StartupSeconds))} | {Seconds(p.ActiveSeconds)} " +
                $"| {(p.FirstItemAfterActiveSeconds is { } f ? Seconds(f) : "never")} | {(p.StopRequestedSeconds is { } st ? Seconds(st) : "ran to the end")} | {(p.StopToExitSeconds is { } d ? Seconds(d) : "–")} " +
                $"| {p.Served} | {p.BusySlotSeconds:0.0} ÷ {p.AvailableSlotSeconds:0.0} | {Percent(p.Goodput)} |");
        }

        md.AppendLine();
        md.AppendLine("**goodput** = Σ busy slot-seconds ÷ Σ available slot-seconds (slots × time) of every pod while it was Active: from its silo becoming Active " +
            "(the first pod: from the push) until it exited or the last result came, so a drain's idle slots count against it, and the start-up before Active does not (it is in **start → Active**). " +
            "Times are seconds from the push. **Active → first item** = until the pod's silo sent its first request to its Ollama.");
        md.AppendLine();
        return md.ToString();
    }

    /// <summary>The issue's goals, each with the figure that decides it.</summary>
    public static string Goals(IReadOnlyList<RunResult> results, IReadOnlyList<ScaleResult> scales)
    {
        var rows = new List<string>();
        string Mark(bool ok) => ok ? "met" : "**not met**";
        foreach (var name in new[] { "homogeneous", "heterogeneous", "slowdown" })
        {
            if (results.FirstOrDefault(r => r.Scenario == name && r.Design == "D" && r.FixedLimit is null) is { } d)
            {
                rows.Add(string.Create(Inv, $"| {name} | D's utilisation ≥ 95% | {Percent(d.Utilisation)} (÷ ideal {d.Ratio:0.00}) | {Mark(d.Utilisation >= 0.95)} |"));
            }
        }

        if (results.FirstOrDefault(r => r.Scenario == "gpu" && r.Design == "D") is { } gpu)
        {
            var scenario = Scenario.Gpu;
            var big = gpu.Fill.Select((f, i) => (f, i)).Where(x => scenario.Backends[x.i].Parallel == 32).ToArray();
            var climb = big.Select(x => x.f.ServiceTimes ?? double.PositiveInfinity).ToArray();
            rows.Add(string.Create(Inv, $"| gpu | 32-slot backends full within 5 service times of their first item | {string.Join(" · ", big.Select(x => $"#{x.i}: {x.f.ServiceTimes:0.0}"))} | {Mark(climb.All(c => c <= 5))} |"));
            rows.Add(string.Create(Inv, $"| gpu | D's utilisation ≥ 95% | {Percent(gpu.Utilisation)} (÷ ideal {gpu.Ratio:0.00}) | {Mark(gpu.Utilisation >= 0.95)} |"));
            if (gpu.TimeScale <= 0.01)
            {
                // Issue 23: at 0.17 s service times the moment between an answer and the next lease shows; leasing ahead closes it.
                rows.Add(string.Create(Inv, $"| gpu at time scale {gpu.TimeScale} | D's utilisation ≥ 97% (issue 23) | {gpu.Utilisation * 100:0.0}% | {Mark(gpu.Utilisation >= 0.97)} |"));
            }
        }

        if (results.FirstOrDefault(r => r.Scenario == "cliff" && r.Design == "D") is { } cliff)
        {
            var peak = Scenario.Cliff.Backends[0].Peak(0.32);
            var settled = (cliff.Limits ?? []).Select(Settled).ToArray();
            rows.Add(string.Create(Inv, $"| cliff | each backend settles within one step of its peak ({peak}) | {string.Join(" · ", settled.Select(v => v?.ToString(Inv) ?? "–"))} | {Mark(settled.Length > 0 && settled.All(v => v is { } x && Math.Abs(x - peak) <= 1))} |"));
            var sweep = results.Where(r => r.Scenario == "cliff" && r.FixedLimit is not null).ToArray();
            if (sweep.Length > 0)
            {
                var best = BestFixed(sweep, cliff.ItemsPerSecondPerBackend.Count, r => r.SettledItemsPerSecondPerBackend);
                var shares = cliff.SettledItemsPerSecondPerBackend.Select((v, i) => v / best[i].Rate).ToArray();
                var bestWhole = BestFixed(sweep, cliff.ItemsPerSecondPerBackend.Count, r => r.ItemsPerSecondPerBackend);
                var whole = cliff.ItemsPerSecondPerBackend.Select((v, i) => v / bestWhole[i].Rate).ToArray();
                rows.Add(string.Create(Inv, $"| cliff | settled throughput per backend ≥ 95% of the best fixed setting's | {string.Join(" · ", shares.Select(v => Percent(v)))} (whole run, climb included: {string.Join(" · ", whole.Select(v => Percent(v)))}) | {Mark(shares.All(v => v >= 0.95))} |"));
            }
        }

        rows.AddRange(ServerReport.Goals(results));
        foreach (var s in scales.Where(s => s.Error is null))
        {
            var firsts = s.Pods.Where(p => p.Index > 0).Select(p => p.FirstItemAfterActiveSeconds ?? double.PositiveInfinity).DefaultIfEmpty(0).Max();
            rows.Add(string.Create(Inv, $"| scale | goodput ≥ 90% | {s.Goodput:P1} | {Mark(s.Goodput >= 0.9)} |"));
            rows.Add(string.Create(Inv, $"| scale | 0 lost | {s.Lost} lost, {s.DeadLettered} dead letters | {Mark(s.Lost == 0 && s.DeadLettered == 0)} |"));
            rows.Add(string.Create(Inv, $"| scale | a new pod's first item in flight within 2 s of Active | at most {firsts:0.00} s | {Mark(firsts <= 2)} |"));
        }

        if (rows.Count == 0)
        {
            return "";
        }

        var md = new StringBuilder();
        md.AppendLine("| scenario | goal (issue 15) | measured | |");
        md.AppendLine("|---|---|---|---|");
        foreach (var row in rows)
        {
            md.AppendLine(row);
        }

        return md.ToString();
    }

    /// <summary>One line on the whole data set's run, or null without one.</summary>
    public static string? Headline(IReadOnlyList<RunResult> results) =>
        results.FirstOrDefault(r => r.Scenario == "full" && r.Design == "D") is { } f
            ? string.Create(Inv, $"{f.Items - f.Lost:N0} of {f.Items:N0} cities in {f.MakespanSeconds:0.0} s through 4 silos: {f.ItemsPerSecond:N0} items/s, makespan ÷ ideal {f.Ratio:0.00}, utilisation {Percent(f.Utilisation)}, {f.Lost} lost")
            : null;

    /// <summary>The limit held for the most samples in the second half of the series (where it settled), or null if empty.</summary>
    public static int? Settled(IReadOnlyList<int> series) =>
        series.Count == 0 ? null : series.Skip(series.Count / 2).GroupBy(l => l).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;

    /// <summary>"1,2×3,4×20": each limit and, when it held for several samples, for how many.</summary>
    public static string RunLength(IReadOnlyList<int> values)
    {
        var parts = new List<string>();
        for (var i = 0; i < values.Count;)
        {
            var j = i;
            while (j < values.Count && values[j] == values[i])
            {
                j++;
            }

            parts.Add(j - i == 1 ? $"{values[i]}" : $"{values[i]}×{j - i}");
            i = j;
        }

        return string.Join(",", parts);
    }

    /// <summary>The million run: the longest script calls Redis logged, and Redis' memory per queued item.</summary>
    public static string MillionSection(IReadOnlyList<MillionResult> millions)
    {
        if (millions.Count == 0)
        {
            return string.Empty;
        }

        var m = millions[^1];
        var md = new StringBuilder();
        md.AppendLine("## A million queued items");
        md.AppendLine();
        md.AppendLine(
            string.Create(Inv, $"{m.Queued:N0} items enqueued in pages of {OrleansLlm.Queue.RedisQueueItems.Page} (900,000 of one batch, 50,000 of a batch whose model no silo serves, ") +
            "50,000 of a batch cancelled a quarter into the run), then two silos lease for a minute at time scale 0 (every answer instant, 16 slots each). " +
            string.Create(Inv, $"Redis logs every command slower than {m.SlowlogThresholdMicroseconds} µs (SLOWLOG, kept whole for the run); no script call may do work that grows with the queue. ") +
            "SLOWLOG times by the wall clock, so redis-server runs on a core of its own (taskset), the silos and simulators on the other.");
        md.AppendLine();
        md.AppendLine("| measure | value |");
        md.AppendLine("|---|--:|");
        md.AppendLine(Inv, $"| **longest script call** | **{(m.LongestCalls.Count > 0 ? $"{m.LongestCalls[0].Microseconds / 1000.0:0.00} ms ({m.LongestCalls[0].Script})" : $"under {m.SlowlogThresholdMicroseconds / 1000.0:0.0} ms")}** |");
        md.AppendLine(Inv, $"| next longest | {(m.LongestCalls.Count > 1 ? string.Join(", ", m.LongestCalls.Skip(1).Select(c => $"{c.Microseconds / 1000.0:0.00} ms ({c.Script})")) : "none over the threshold")} |");
        md.AppendLine(Inv, $"| script calls over {m.SlowlogThresholdMicroseconds} µs | {m.SlowCalls:N0} of {m.ScriptCalls:N0} |");
        md.AppendLine(Inv, $"| 99.9th percentile of every script call | {(m.P999Microseconds > 0 ? $"{m.P999Microseconds / 1000.0:0.00} ms" : $"under {m.SlowlogThresholdMicroseconds / 1000.0:0.0} ms")} |");
        md.AppendLine(Inv, $"| the machine alone: longest pause of a busy loop on Redis' core in 5 s (`redis-cli --intrinsic-latency`) | {m.IntrinsicLatencyMicroseconds / 1000.0:0.00} ms |");
        md.AppendLine(Inv, $"| **Redis `used_memory` per queued item** | **{m.BytesPerQueuedItem:N0} bytes** |");
        md.AppendLine(Inv, $"| enqueue | {m.Queued:N0} items in {m.EnqueueSeconds:0.0} s ({m.Queued / m.EnqueueSeconds:N0} items/s) |");
        md.AppendLine(Inv, $"| leased and answered in {m.LeaseSeconds:0} s | {m.Done:N0} ({m.ItemsPerSecond:N0} items/s) |");
        md.AppendLine(Inv, $"| parked on the way (model no silo serves) | {m.Parked:N0} of 50,000 |");
        md.AppendLine(Inv, $"| removed by the cancel | {m.Removed:N0} of 50,000, in {m.CancelSeconds:0.0} s of paged calls |");
        md.AppendLine();
        return md.ToString();
    }

    /// <summary>The api run: upload, validation, makespan and download through the official SDK, and the silos' memory.</summary>
    public static string ApiSection(IReadOnlyList<ApiResult> apis)
    {
        if (apis.Count == 0)
        {
            return string.Empty;
        }

        var a = apis[^1];
        var md = new StringBuilder();
        md.AppendLine("## The OpenAI Batch API");
        md.AppendLine();
        md.AppendLine(string.Create(Inv, $"{a.Lines:N0} rows of `data/worldcities.csv` as one OpenAI batch input file (a chat request per row, custom_id by line), ") +
            "through the official OpenAI .NET SDK (given nothing but an endpoint and a key) against the Batch API of 2 silo processes, each beside its own simulator " +
            string.Create(Inv, $"({a.Parallel} slots, time scale {a.TimeScale}; the silo at a fixed {a.Parallel} in flight). Uploaded to silo 0, created on silo 1, ") +
            string.Create(Inv, $"polled on both in turn every {ApiRun.PollInterval.TotalSeconds:0.0} s, downloaded from silo 0. Memory is the kernel's resident set from `/proc/PID/status`: ") +
            string.Create(Inv, $"VmRSS read every {ApiRun.RssInterval.TotalMilliseconds:0} ms while silo 0 serves the download, and each silo's VmHWM (its own high-water mark, nothing missed between reads) at the end."));
        md.AppendLine();
        if (a.Error is not null)
        {
            md.AppendLine(Inv, $"**Failed**: {a.Error}");
            md.AppendLine();
            return md.ToString();
        }

        md.AppendLine("| measure | value |");
        md.AppendLine("|---|--:|");
        md.AppendLine(Inv, $"| upload ({Mib(a.InputBytes)}) | {a.UploadSeconds:0.00} s |");
        md.AppendLine(Inv, $"| validation (create → first seen `in_progress`) | {a.ValidationSeconds:0.0} s |");
        md.AppendLine(Inv, $"| **makespan (create → first seen `completed`)** | **{a.MakespanSeconds:0.0} s** ({a.ItemsPerSecond:N0} requests/s; ideal {a.IdealSeconds:0.0} s, × {a.MakespanSeconds / a.IdealSeconds:0.00}) |");
        md.AppendLine(Inv, $"| the batch's own `completed_at − created_at` | {a.ServerMakespanSeconds} s |");
        md.AppendLine(Inv, $"| **output download** ({Mib(a.OutputBytes)}, {a.OutputLines:N0} lines) | **{a.DownloadSeconds:0.00} s** |");
        md.AppendLine(Inv, $"| custom_ids missing / duplicated / not 200 | {a.Missing} / {a.Duplicated} / {a.NotOk} |");
        md.AppendLine(Inv, $"| **silo 0 VmRSS**: before the download / peak while serving it | {Mib(a.RssBeforeDownload)} / **{Mib(a.RssPeakDownload)}** |");
        md.AppendLine(Inv, $"| peak resident memory over the run (VmHWM): silo 0 / silo 1 | {string.Join(" / ", a.PeakRss.Select(Mib))} |");
        md.AppendLine(Inv, $"| load average (1, 5, 15 min) | {a.Load} |");
        md.AppendLine();
        return md.ToString();
    }

    public static string Document(
        IReadOnlyList<RunResult> results, IReadOnlyList<ScaleResult> scales, IReadOnlyList<OverheadResult> overheads, IReadOnlyList<QueueCostResult> queueCosts, IReadOnlyList<MillionResult> millions,
        IReadOnlyList<ApiResult> apis, Workload workload, BenchmarkOptions options, TimeSpan elapsed, string load, string chartFile)
    {
        var md = new StringBuilder();
        md.AppendLine("# Benchmarks: keeping Ollama busy");
        md.AppendLine();
        md.AppendLine(Inv, $"Generated by `tests/OrleansLlm.Benchmarks` on {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC in {elapsed.TotalMinutes:0.0} minutes. ");
        md.AppendLine("The same items go through four designs, each on fresh simulated Ollama backends (OllamaSim, in-process, over real HTTP) and a real Redis:");
        md.AppendLine();
        md.AppendLine("- **A**: the workshop's first design: one consumer with fixed parallelism, popping the Redis list (LPOP polling) and sending each request to a backend picked at random, as a Kubernetes Service does;");
        md.AppendLine("- **B**: one such consumer per backend, all behind the same random balancer (scaling consumers, not fixing the balancing);");
        md.AppendLine("- **C**: the workshop's final design: one consumer beside each backend with fixed parallelism, consumer i → backend i only;");
        md.AppendLine("- **D**: OrleansLlm: one silo per backend in an in-process Orleans cluster, `AddOrleansLlm()` with its concurrency controller, leases in Redis.");
        md.AppendLine();
        md.AppendLine(Inv, $"![Utilisation and makespan ÷ ideal per design and scenario]({chartFile})");
        md.AppendLine();
        if (Headline(results) is { } headline)
        {
            md.AppendLine(Inv, $"**Whole data set**: {headline}.");
            md.AppendLine();
        }

        var goals = Goals(results, scales);
        if (goals.Length > 0)
        {
            md.AppendLine("## Goals");
            md.AppendLine();
            md.Append(goals);
            md.AppendLine();
            md.AppendLine("A 32-slot backend counts as full at the first moment 32 requests were in flight to it (counted on the callers' HTTP handler, to the millisecond; " +
                "the sampled limit below each table only says it once a second), in its own median service time after its first request. " +
                "A cliff backend's settled limit is the one its worker held longest in the second half of the run; its throughput is its " +
                "answers per second from half the makespan to nine tenths of it (settled, clear of the tail), against the best of the sweep for that backend on the same window; the whole run's figure is beside it.");
            md.AppendLine();
        }

        md.AppendLine("## Results");
        md.AppendLine();
        md.Append(Tables(results, scales, options));
        md.AppendLine("Columns: **makespan** = first push → last result (`> t` when the run timed out); **÷ ideal** = makespan ÷ the ideal below; " +
            "**utilisation** = Σ busy-slot seconds ÷ Σ (slots × makespan) from the simulators' own stats, reset just before the push; " +
            "**queue wait** = time a request waited for a slot inside Ollama, merged over all backends; " +
            "**wait p99 ÷ service** = p99 queue wait ÷ median service time (prompt + generation), over all requests: " +
            "at most 1.00 means 99% of requests waited in Ollama less than one service time (per backend in the notes under each table); **end-to-end** = push → result per item " +
            "(all items are pushed at once, so this is the completion-time distribution); **lost** = items without a result at the end; " +
            "**extra calls** = Ollama calls served beyond one per result (Σ served − results); **dup. results** = results written twice for one item; " +
            "**served (utilisation) per backend** = calls each backend served, and its own busy-slot seconds ÷ (slots × makespan); " +
            "**where the idle slot-seconds went** (D) = the slots' idle time as a share of Σ (slots × makespan), from each call's send and answer times " +
            "(a slot busy for the answer's service time, ending as it came back), by phase: **wake** = push → a backend's first request; " +
            "**climb** = → its peak's worth of slots (all, or a cliff's peak) first busy at once; **middle** = → the ready list first seen empty (polled every 50 ms), of which " +
            "**no request out** (the limit below the slots, or the moment between an answer and the next request; the rest is the HTTP trip); " +
            "**tail** = → the last result, of which after the last request any backend was sent.");
        md.AppendLine();
        md.Append(OverheadReport.Section(overheads, queueCosts));
        md.Append(MillionSection(millions));
        md.Append(ApiSection(apis));
        md.AppendLine("## How the ideal is computed");
        md.AppendLine();
        md.AppendLine("From the simulator's own capacity model (`SlotScheduler`): with k slots computing, each progresses at speed × k^(e−1) ÷ timeScale " +
            "solo seconds per wall second, so a backend does at most **speed × parallel^e ÷ timeScale** solo seconds of work per wall second, with every slot busy. " +
            "The work is **Σ `SimulatedModel.SoloSecondsFor(prompt)`** over the items (the prompt rendered from the silos' default template). " +
            "Ideal makespan = work ÷ Σ capacities: a fluid bound that no design can beat, blind to the granularity of items (the last requests " +
            "of a run cannot be split across backends, so even a perfect scheduler ends slightly above 1.00).");
        md.AppendLine();
        md.AppendLine("Each backend uses its own exponent where the scenario gives one (0.9 for the gpu, cliff and vLLM backends; a vLLM backend's slots are the sequences its KV cache holds). Past a cliff the aggregate falls " +
            "(`CapacityCurve`: aggregate(K) × (1 − slope × (k − K)) beyond K in flight), so a cliff backend's capacity is the curve's peak, at K in flight, " +
            "not all its slots: the ideal assumes every backend held exactly its peak.");
        md.AppendLine();
        md.AppendLine("For the slow-down scenario the benchmark slows backend 0 down (`SimulatorServer.SetSpeed(1/3)`) as soon as half the items have " +
            "results, whatever the design; the ideal is then a two-phase fluid model: the first half of the work at the full capacity, the other half at the " +
            "capacity with backend 0 at a third of its speed.");
        md.AppendLine();
        md.AppendLine("## Parameters");
        md.AppendLine();
        var perItem = workload.TotalSoloSeconds / workload.Count;
        md.AppendLine(Inv, $"- items: the first rows of `data/worldcities.csv` (biggest cities first), {perItem:0.00} solo seconds of work per item on average; " +
            $"the file holds 44,691 rows and 44,690 different ids (one city twice), so the whole data set makes 44,690 results");
        foreach (var group in results.Where(r => r.FixedLimit is null).GroupBy(r => r.Scenario))
        {
            var r = group.First();
            md.AppendLine(Inv, $"- {group.Key}: {r.Items:N0} items at time scale {r.TimeScale} ({perItem * r.TimeScale:0.000} s alone on a speed-1 backend), designs {string.Join(",", group.Select(g => g.Design))}");
        }

        foreach (var scale in scales)
        {
            md.AppendLine(Inv, $"- scale: {scale.Items:N0} items at time scale {scale.TimeScale}, design D");
        }

        md.AppendLine(Inv, $"- scaling exponent e = {options.ScalingExponent} unless a backend says otherwise, no injected faults");
        if (results.Count > 0)
        {
            var k = Scenario.Named(results[0].Scenario).Backends.Count;
            md.AppendLine(Inv, $"- fixed parallelism: A: one consumer × {options.AParallelismFor(k)}{(options.AParallelism is null ? $" (backends × {options.PerConsumer}, the same total as C)" : "")}; " +
                $"B: {k} consumers × {options.BPerConsumerOrDefault}; C: {k} consumers × {options.PerConsumer}{(results.Any(r => r.Scenario == Scenario.Vllm.Name) ? $" ({options.ServerPerConsumer ?? Scenario.Vllm.ServerPerConsumer} beside vllm's servers, speaking the OpenAI API)" : "")}");
        }

        md.AppendLine(Inv, $"- D: {Designs.OrleansDesign.Controller(options)} (64 in the gpu scenario, above its 32 slots; 256 in vllm and vllm-plain, far above their 48 sequences, whose silos run Backend:Kind OpenAi beside the vLLM servers); every other silo setting at its default");
        md.AppendLine(Inv, $"- random balancer seed {options.Seed}; idle consumers in A/B/C poll with the silos' default back-off (50 ms doubling to 1 s, each wait drawn from the upper half of its step)");
        md.AppendLine(Inv, $"- a run gives up after ideal × {options.TimeoutFactor} (× {Scenario.Gpu.Apply(options).TimeoutFactor} in gpu) + {options.TimeoutSlack.TotalSeconds:0} s and counts what is missing as lost");
        md.AppendLine();
        md.AppendLine("## Machine");
        md.AppendLine();
        foreach (var line in MachineInfo.Describe())
        {
            md.AppendLine(Inv, $"- {line}");
        }

        md.AppendLine(Inv, $"- load average (1, 5, 15 min): {load}");

        md.AppendLine();
        md.AppendLine("Everything (Redis, the simulators, the consumers, every silo) shares this one machine, so CPU spent by the harness itself " +
            "slows all designs alike. The time scale keeps a request at 0.2–0.5 s of simulated work on a speed-1 backend so that this overhead " +
            "stays small; on the speed-4 backends of the heterogeneous scenario a request takes a quarter of that (0.06–0.16 s).");
        md.AppendLine();
        md.AppendLine("## Reproduce");
        md.AppendLine();
        md.AppendLine("Needs the .NET 10 SDK and `redis-server` on the PATH (the harness starts its own on a free loopback port). This report came from:");
        md.AppendLine();
        md.AppendLine("```bash");
        md.AppendLine(options.Command);
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("Options: `--smoke` (tiny and fast, exits 1 if any design loses items, writes no report unless `--out` is given), `--items N`, " +
            $"`--scenario {string.Join(",", Scenario.Names)}`, `--designs A,B,C,D`, `--out FILE.md` (the chart goes beside it as `.svg`), `--time-scale F`, " +
            "`--per-consumer P`, `--a-parallelism P`, `--b-per-consumer P`, `--d-max-concurrency N`, `--seed N`; for the overhead scenario `--overhead N` (its items, and run it), " +
            "`--overhead-redis single,cluster` (one redis-server, a 3-master Redis Cluster with `Queue:Shards` 3, or both), `--baseline DIR` (another checkout, built with " +
            "`dotnet build -c Release`, measured in turn with this one) and `--repeat N`. Progress and per-run details go to stderr. The overhead scenario runs the built silo and CLI: " +
            "build the solution first (`dotnet build -c Release`).");
        md.AppendLine();
        md.AppendLine("## Limitations");
        md.AppendLine();
        md.AppendLine("- One machine: the backends are simulated (a capacity model, not a model), network latency is loopback, and every component competes for the same cores.");
        md.AppendLine("- Queue waits are derived per request from the durations Ollama returns (total − load − prompt eval − eval), because the simulators " +
            "only publish per-backend percentiles; the stderr log compares the derived mean with the simulators' own mean.");
        md.AppendLine("- A batch workload: every item is pushed at t = 0, so end-to-end latency mostly reflects position in the queue; it shows fairness and tail, not service latency.");
        md.AppendLine("- D's silos start before the push and are not timed; the idle polling back-off (up to 1 s) applies to every design alike.");
        md.AppendLine("- Each cell is one run, without repetitions or confidence intervals. The random balancer (A, B) and D's adaptive controller " +
            "make results vary from run to run; rerun one scenario (`--scenario NAME --designs D`) to see the spread. D's line under each table " +
            "shows the limit each worker's controller chose over time.");
        md.AppendLine("- The scale scenario runs D only (the fixed designs have no drain), its scaler reacts every second without the HPA's stabilisation window, and its pods are silos in one process.");
        md.AppendLine();
        md.AppendLine(KeepBelowMarker);
        return md.ToString();
    }

    private static string Mib(long bytes) => string.Create(Inv, $"{bytes / 1048576.0:0.0} MiB");

    private static string Percent(double value) => double.IsNaN(value) ? "–" : value.ToString("P0", Inv).Replace(" ", "", StringComparison.Ordinal);

    private static string Seconds(double value) => double.IsNaN(value) ? "–" : value.ToString("0.00", Inv) + " s";
}
