using System.Text.Json;

namespace OrleansLlm.Tests.Deploy;

/// <summary>The Grafana dashboard of deploy/monitoring, read as Grafana's sidecar loads it.</summary>
[Trait("Category", "Unit")]
public sealed class GrafanaDashboardTests
{
    [Fact]
    public void Dashboard_ShowsWhatTheIssueAsksFor()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardFile));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .ToDictionary(p => p.GetProperty("title").GetString()!, p => p.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!).ToArray());
        string[] Panel(string title) => panels.TryGetValue(title, out var exprs) ? exprs : throw new Xunit.Sdk.XunitException($"no panel '{title}' in {string.Join(", ", panels.Keys)}");

        // The queue gauges are the same on every silo: max, never sum.
        Assert.Equal(
            ["max(orleansllm_queue_ready_items)", "max(orleansllm_queue_inflight_items)", "max(orleansllm_queue_dead_items)", "count(orleansllm_worker_concurrency_limit)"],
            Panel("Queue depth and in-flight items against replicas"));
        Assert.Contains("rate(orleansllm_items_completed_total[$__rate_interval])", Assert.Single(Panel("Throughput per silo")));
        Assert.Contains(Panel("Concurrency limit per silo"), e => e.Contains("orleansllm_worker_concurrency_limit", StringComparison.Ordinal));
        Assert.Equal(["0.5", "0.99"], Panel("Ollama queue wait p50 / p99").Select(e => e.Split('(', ',')[1]));
        Assert.All(Panel("Ollama queue wait p50 / p99"), e => Assert.Contains("orleansllm_ollama_queue_wait_seconds_bucket", e));
        Assert.Contains("orleansllm_ollama_tokens_total", Assert.Single(Panel("Tokens per second")));
        Assert.All(Panel("Failures by reason"), e => Assert.StartsWith("sum by (reason)", e));
        Assert.Contains(Panel("Drains"), e => e.Contains("orleansllm_worker_draining", StringComparison.Ordinal));
        Assert.Contains(Panel("Drains"), e => e.Contains("orleansllm_items_released_total", StringComparison.Ordinal));

        // Every panel reads the dashboard's Prometheus data source, chosen on import.
        Assert.All(dashboard.RootElement.GetProperty("panels").EnumerateArray(),
            p => Assert.Equal("${datasource}", p.GetProperty("datasource").GetProperty("uid").GetString()));
    }

    internal static string DashboardFile => Path.Combine(RepoPaths.Root, "deploy", "monitoring", "dashboard.json");
}
