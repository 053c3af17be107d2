using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OllamaSim;
using Orleans.TestingHost;
using OrleansLlm.Telemetry;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Observability;

/// <summary>
/// The worker's instruments on a real in-process cluster, read per silo as its exporter would: the gauges follow the
/// worker through a drain that runs out of time, the items it hands back are counted as released, and the completed
/// counters agree with the results Redis holds.
/// </summary>
[Collection(RedisCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class WorkerMetricsTests(RedisServer redis)
{
    [Fact]
    public async Task DrainThatRunsOutOfTime_CountsReleasedItems_AndTheGaugesFollowTheWorker()
    {
        await using var cluster = await LlmCluster.StartAsync(redis, o =>
        {
            o.Simulator = _ => new SimulatorOptions { Parallel = 2, TimeScale = 0.12 };
            o.Settings["Worker:DrainTimeout"] = "00:00:00.200";
            o.Settings["Worker:HeartbeatInterval"] = "00:00:00.100";
        });
        var leaving = cluster.SiloAt(1);
        var staying = cluster.SiloAt(0);
        using var leavingMetrics = new SiloMetrics(leaving);
        using var stayingMetrics = new SiloMetrics(staying);
        await cluster.PushRawAsync((await Cities.LoadAsync(6)).Select(c => c.Json));

        await Eventually.TrueAsync(() => leavingMetrics.Gauge("orleansllm_worker_inflight_requests") == 2, "the leaving silo's gauge to show 2 calls in flight",
            describe: () => Task.FromResult(leavingMetrics.ToString()));
        Assert.Equal(2, leavingMetrics.Gauge("orleansllm_worker_concurrency_limit"));
        Assert.Equal(0, leavingMetrics.Gauge("orleansllm_worker_draining"));

        await cluster.Coordinator.DrainAsync(cluster.OwnerOf(leaving));

        // Calls take seconds and the drain allows 200 ms: both go back to the queue, after the item leased ahead.
        await Eventually.TrueAsync(() => leavingMetrics.Counter("orleansllm_items_released") == 3, "3 released items",
            describe: () => Task.FromResult(leavingMetrics.ToString()));
        await Eventually.TrueAsync(() => leavingMetrics.Gauge("orleansllm_worker_draining") == 1 && leavingMetrics.Gauge("orleansllm_worker_inflight_requests") == 0,
            "the drained worker's gauges", describe: () => Task.FromResult(leavingMetrics.ToString()));

        await Eventually.TrueAsync(async () => await cluster.ResultCountAsync() == 6, "6 results", describe: cluster.DescribeQueueAsync);
        var bySilo = (await cluster.ResultsAsync()).Values.GroupBy(r => r.GetProperty("meta").GetProperty("silo").GetString()).ToDictionary(g => g.Key!, g => g.Count());
        await Eventually.TrueAsync(() => stayingMetrics.Counter("orleansllm_items_completed") == bySilo.GetValueOrDefault(cluster.OwnerOf(staying)),
            "the staying silo's completed counter to match its results", describe: () => Task.FromResult(stayingMetrics.ToString()));
        Assert.Equal(bySilo.GetValueOrDefault(cluster.OwnerOf(leaving)), leavingMetrics.Counter("orleansllm_items_completed"));
        Assert.Equal(0, leavingMetrics.Counter("orleansllm_items_failed") + stayingMetrics.Counter("orleansllm_items_failed"));
    }

    /// <summary>What one silo's own meter reports: counters summed over their labels, gauges as last observed.</summary>
    private sealed class SiloMetrics : IDisposable
    {
        private readonly MeterListener _listener;
        private readonly ConcurrentDictionary<string, long> _counters = new();
        private readonly ConcurrentDictionary<string, long> _gauges = new();

        public SiloMetrics(InProcessSiloHandle silo)
        {
            // Every silo of the cluster publishes the same instruments in this process; only this silo's meter counts.
            var factory = silo.ServiceProvider.GetRequiredService<IMeterFactory>();
            _listener = new MeterListener
            {
                InstrumentPublished = (instrument, l) =>
                {
                    if (instrument.Meter.Scope == factory && instrument.Meter.Name == OrleansLlmTelemetry.MeterName)
                    {
                        l.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => _counters.AddOrUpdate(instrument.Name, value, (_, sum) => sum + value));
            _listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => _gauges[instrument.Name] = value);
            _listener.Start();
        }

        public long Counter(string name) => _counters.GetValueOrDefault(name);

        public long? Gauge(string name)
        {
            _listener.RecordObservableInstruments();
            return _gauges.TryGetValue(name, out var value) ? value : null;
        }

        public override string ToString() =>
            string.Join(", ", _counters.Select(c => $"{c.Key}={c.Value}").Concat(_gauges.Select(g => $"{g.Key}={g.Value}")));

        public void Dispose() => _listener.Dispose();
    }
}
