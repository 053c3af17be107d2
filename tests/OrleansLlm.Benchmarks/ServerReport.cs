using System.Globalization;
using System.Text;

namespace OrleansLlm.Benchmarks;

/// <summary>
/// The continuous-batching servers of the vllm scenarios (issue 24): per server, each run's throughput, the p99 of its
/// own queue (from the simulator: an OpenAI-compatible answer tells no wait) against its service time, and where D's
/// limit settled; D against the best fixed limit of the sweep.
/// </summary>
public static class ServerReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>D's settled throughput per server at least this share of the best fixed limit's, with a server's queue.</summary>
    public const double GoalWithSignal = 0.95;

    /// <summary>The same with the latency rule alone (no metrics, no timings).</summary>
    public const double GoalLatencyOnly = 0.90;

    /// <summary>The section for <paramref name="scenario"/>, or "" if it has no OpenAI-compatible backend or no runs.</summary>
    public static string Section(Scenario scenario, IReadOnlyList<RunResult> results)
    {
        var servers = Servers(scenario);
        var runs = results.Where(r => r.Scenario == scenario.Name).OrderBy(r => r.FixedLimit ?? int.MaxValue).ToArray();
        if (servers.Length == 0 || runs.Length == 0)
        {
            return "";
        }

        var md = new StringBuilder();
        md.AppendLine($"Continuous-batching servers ({string.Join(", ", servers.Select(i => $"#{i}"))}): items/s over the whole run and settled (½ to 9⁄10 of the makespan); " +
            "p99 of the time requests waited in the server's own queue (the simulator's figure: an OpenAI-compatible answer tells no wait, so the table above counts none for these servers), " +
            "its mean service time (busy slot-seconds ÷ requests), and their ratio; where D's limit settled.");
        md.AppendLine();
        md.AppendLine("| run | server | items/s (whole / settled) | queue p99 | service | queue p99 ÷ service | D settled at |");
        md.AppendLine("|---|--:|--:|--:|--:|--:|--:|");
        foreach (var r in runs)
        {
            var label = r.FixedLimit is { } p ? $"C at fixed {p}" : $"**{r.Design}**";
            foreach (var i in servers.Where(i => i < r.ItemsPerSecondPerBackend.Count))
            {
                var settled = r.Design == "D" && r.FixedLimit is null && r.Limits is { } limits && i < limits.Count ? Report.Settled(limits[i])?.ToString(Inv) ?? "–" : "";
                md.AppendLine(Inv, $"| {label} | #{i} | {r.ItemsPerSecondPerBackend[i]:0.0} / {At(r.SettledItemsPerSecondPerBackend, i):0.0} | {Ms(At(r.ServerQueueP99PerBackend, i))} | {Ms(At(r.ServiceMeanPerBackend, i))} | {QueueOverService(r, i):0.00} | {settled} |");
            }
        }

        md.AppendLine();
        if (Judged(scenario, results) is { } judged)
        {
            md.AppendLine($"D ÷ the best fixed limit's items/s per server{(scenario.SweepOf is { } of ? $" (the {of} scenario's sweep: the same servers' compute)" : "")}: " +
                string.Join(" · ", judged.Select(j => string.Create(Inv, $"#{j.Server} settled {j.Settled:P1} (best {j.BestSettledLimit}), whole run {j.Whole:P1} (best {j.BestWholeLimit})"))) + ".");
            md.AppendLine();
        }

        return md.ToString();
    }

    /// <summary>The goal rows of issue 24 for the scenarios that ran.</summary>
    public static IEnumerable<string> Goals(IReadOnlyList<RunResult> results)
    {
        static string Mark(bool ok) => ok ? "met" : "**not met**";
        foreach (var scenario in Scenario.All.Where(s => Servers(s).Length > 0))
        {
            if (Judged(scenario, results) is not { } judged)
            {
                continue;
            }

            var goal = scenario.Backends.Any(b => b.Flavor == OllamaSim.ServerFlavor.Plain) ? GoalLatencyOnly : GoalWithSignal;
            yield return string.Create(Inv, $"| {scenario.Name} | D's settled items/s per server ≥ {goal:P0} of the best fixed limit's (issue 24) | " +
                $"{string.Join(" · ", judged.Select(j => $"#{j.Server}: {j.Settled:P1}"))} (whole run: {string.Join(" · ", judged.Select(j => $"{j.Whole:P1}"))}) | {Mark(judged.All(j => j.Settled >= goal))} |");
            if (goal == GoalWithSignal)
            {
                yield return string.Create(Inv, $"| {scenario.Name} | D's p99 wait in each server's queue ≤ 1 service time (issue 24) | " +
                    $"{string.Join(" · ", judged.Select(j => $"#{j.Server}: {j.QueueOverService:0.00}"))} | {Mark(judged.All(j => j.QueueOverService <= 1))} |");
            }
        }
    }

    /// <summary>D against the best fixed limit, per server; null without a D run or a sweep.</summary>
    private static IReadOnlyList<Judgement>? Judged(Scenario scenario, IReadOnlyList<RunResult> results)
    {
        var d = results.FirstOrDefault(r => r.Scenario == scenario.Name && r.Design == "D" && r.FixedLimit is null);
        var sweep = results.Where(r => r.Scenario == (scenario.SweepOf ?? scenario.Name) && r.FixedLimit is not null && r.Error is null).ToArray();
        if (d is null || d.Error is not null || sweep.Length == 0)
        {
            return null;
        }

        var best = Report.BestFixed(sweep, d.ItemsPerSecondPerBackend.Count, r => r.ItemsPerSecondPerBackend);
        var bestSettled = Report.BestFixed(sweep, d.ItemsPerSecondPerBackend.Count, r => r.SettledItemsPerSecondPerBackend);
        return Servers(scenario).Where(i => i < d.ItemsPerSecondPerBackend.Count).Select(i => new Judgement(
            i,
            At(d.SettledItemsPerSecondPerBackend, i) / bestSettled[i].Rate,
            bestSettled[i].Limit,
            d.ItemsPerSecondPerBackend[i] / best[i].Rate,
            best[i].Limit,
            QueueOverService(d, i))).ToArray();
    }

    private static int[] Servers(Scenario scenario) =>
        scenario.Backends.Select((b, i) => (b, i)).Where(x => x.b.OpenAi).Select(x => x.i).ToArray();

    private static double QueueOverService(RunResult r, int i) => At(r.ServerQueueP99PerBackend, i) / At(r.ServiceMeanPerBackend, i);

    private static double At(IReadOnlyList<double> values, int i) => i < values.Count ? values[i] : double.NaN;

    private static string Ms(double seconds) => double.IsNaN(seconds) ? "–" : string.Create(Inv, $"{seconds * 1000:0} ms");

    private sealed record Judgement(int Server, double Settled, int BestSettledLimit, double Whole, int BestWholeLimit, double QueueOverService);
}
