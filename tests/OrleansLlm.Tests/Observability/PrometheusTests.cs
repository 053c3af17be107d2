using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using OrleansLlm.Telemetry;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Observability;

/// <summary>What a real Prometheus, scraping two real silos every second, makes of a batch.</summary>
[Trait("Category", "Process")]
public sealed partial class PrometheusTests(PrometheusRun run, ITestOutputHelper output) : IClassFixture<PrometheusRun>
{
    private static readonly TimeSpan ScrapeWait = TimeSpan.FromSeconds(30);

    private PrometheusServer Prometheus => run.Prometheus;

    [Fact]
    public async Task ItemsCompleted_AddUpAcrossSilos_AndTheQueueGaugesFallToZero()
    {
        output.WriteLine($"batch of {PrometheusRun.Items + 1} items done in {run.RunTime.TotalSeconds:F1} s: {run.Final}");
        Assert.Equal((PrometheusRun.Items, 1), (run.Final.Done, run.Final.DeadLettered));

        await WaitForAsync("sum(orleansllm_items_completed_total)", PrometheusRun.Items);
        await WaitForAsync("max(orleansllm_queue_ready_items)", 0);
        await WaitForAsync("max(orleansllm_queue_inflight_items)", 0);
        await WaitForAsync("max(orleansllm_queue_dead_items)", 1);

        // The queue really was deep while it ran, and both silos took their share.
        var peak = await Prometheus.ScalarAsync("max(max_over_time(orleansllm_queue_ready_items[10m]))");
        output.WriteLine($"deepest ready list Prometheus saw: {peak}");
        Assert.True(peak > 0, "Prometheus never saw an item waiting");
        var perSilo = await Prometheus.QueryAsync("orleansllm_items_completed_total");
        output.WriteLine(string.Join("\n", perSilo));
        Assert.Equal(2, perSilo.Count(s => s.Value > 0));

        // Why the poison item failed, by bounded reason: every attempt an HTTP 500, then a dead letter.
        await WaitForAsync($"sum(orleansllm_items_failed_total{{reason=\"{FailureReasons.OllamaHttp5xx}\"}})", PrometheusRun.MaxAttempts);
        await WaitForAsync($"sum(orleansllm_items_dead_lettered_total{{reason=\"{FailureReasons.MaxAttempts}\"}})", 1);
        await WaitForAsync("sum(orleansllm_items_failed_total) + sum(orleansllm_items_dead_lettered_total)", PrometheusRun.MaxAttempts + 1);
        Assert.True(await Prometheus.ScalarAsync("sum(orleansllm_ollama_tokens_total{type=\"completion\"})") > 0);
        Assert.Equal(PrometheusRun.Items, await Prometheus.ScalarAsync("sum(orleansllm_ollama_queue_wait_seconds_count)"));
    }

    [Fact]
    public async Task Promtool_PassesOnEachSilosMetrics()
    {
        using var http = new HttpClient();
        foreach (var silo in run.Silos)
        {
            var exposition = await http.GetStringAsync($"http://127.0.0.1:{silo.HttpPort}/metrics");
            var (exitCode, problems) = await Promtool.CheckMetricsAsync(exposition);
            output.WriteLine($"silo on port {silo.HttpPort}: {exposition.Split('\n').Count(l => l.Length > 0 && l[0] != '#')} samples; promtool exit {exitCode} {problems}");
            Assert.True(exitCode == 0, $"promtool check metrics failed on the silo on port {silo.HttpPort}:\n{problems}");
            foreach (var name in new[] { "orleansllm_", "gen_ai_client_", "orleans_", "http_server_", "kestrel_", "dotnet_" })
            {
                Assert.Contains("\n" + name, exposition);
            }
        }
    }

    [Fact]
    public async Task GrafanaDashboard_EveryQueryFindsItsMetricsInARealScrape()
    {
        var queries = DashboardQueries().ToArray();
        Assert.NotEmpty(queries);
        await WaitForAsync("sum(orleansllm_items_completed_total)", PrometheusRun.Items);
        var stored = await Prometheus.MetricNamesAsync();
        foreach (var (panel, expr) in queries)
        {
            foreach (var metric in MetricName().Matches(expr).Select(m => m.Value).Distinct())
            {
                Assert.True(stored.Contains(metric), $"panel '{panel}' queries {metric}, which no silo exports");
            }

            // As Grafana would send it: its rate window is at least four scrape intervals.
            var promQl = expr.Replace("$__rate_interval", "1m", StringComparison.Ordinal);
            var result = await Prometheus.QueryAsync(promQl);
            output.WriteLine($"{panel}: {promQl} -> {string.Join("; ", result)}");
            Assert.True(result.Count > 0, $"panel '{panel}': {promQl} returned no series");
        }
    }

    private static IEnumerable<(string Panel, string Expr)> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "deploy", "monitoring", "dashboard.json")));
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                yield return (panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!);
            }
        }
    }

    private async Task WaitForAsync(string promQl, double expected)
    {
        double? last = null;
        await Eventually.TrueAsync(async () => (last = await Prometheus.ScalarAsync(promQl)) == expected,
            $"{promQl} to be {expected.ToString(CultureInfo.InvariantCulture)} in Prometheus", ScrapeWait,
            () => Task.FromResult(last?.ToString(CultureInfo.InvariantCulture) ?? "no series"));
    }

    [GeneratedRegex(@"\b(orleansllm|gen_ai)_[a-z_]+")]
    private static partial Regex MetricName();
}
