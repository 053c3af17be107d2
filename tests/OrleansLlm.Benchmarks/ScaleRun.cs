using System.Diagnostics;
using System.Globalization;
using Orleans.TestingHost;
using OrleansLlm.Benchmarks.Designs;
using OrleansLlm.Benchmarks.Infrastructure;
using OrleansLlm.Queue;

namespace OrleansLlm.Benchmarks;

/// <summary>
/// The scale scenario: D's pods (a silo and its own simulated Ollama) come and go while one batch drains. A stand-in
/// for KEDA and the HPA polls Redis and applies deploy/base/keda.yaml's formula,
/// desired = ceil((LLEN ready + HLEN in-flight) ÷ target) between min and max replicas; a scale-up starts pods one
/// at a time, a scale-down stops the newest pod the way SIGTERM does: <c>StopSiloAsync</c> runs the silo's
/// shutdown, in which <see cref="OrleansLlm.Worker.WorkerLifecycle"/> drains the worker before the silo leaves.
/// </summary>
/// <remarks>
/// The fixed designs (A, B, C) have no drain: a consumer stopped mid-call loses what it popped, so this scenario
/// runs D only. The target is items ÷ 30 (100 for 3,000) rather than the manifest's 10, and the HPA's 10-minute
/// scale-down window is left out: both only spread the way down over a part of the run that a benchmark can watch.
/// </remarks>
public sealed class ScaleRun(RedisProcess redis, Workload workload, BenchmarkOptions options, TextWriter log)
{
    private const int MinReplicas = 1;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ResultPoll = TimeSpan.FromMilliseconds(50);

    private int MaxReplicas => options.Smoke ? 2 : 6;

    private int Target => Math.Max(1, workload.DistinctIds / 30);

    public async Task<ScaleResult> RunAsync(Scenario scenario, CancellationToken cancellationToken)
    {
        var spec = scenario.Backends[0];
        var capacity = spec.Capacity(spec.Speed, options.TimeScale, options.ScalingExponent);
        var timeout = TimeSpan.FromSeconds(workload.TotalSoloSeconds / (capacity * MaxReplicas) * options.TimeoutFactor) + options.TimeoutSlack + TimeSpan.FromSeconds(30);
        var keys = new QueueKeys($"bench-scale-{Guid.NewGuid():N}"[..40]);
        var recorder = new CallRecorder();
        var context = new DesignContext(redis, keys, [], recorder, options, timeout + TimeSpan.FromSeconds(10), scenario.Backends);
        var pods = new List<ScalePod>();
        var history = new List<(double, int)>();
        ScalePod? configuring = null;
        InProcessTestCluster? cluster = null;
        var pushedAt = DateTimeOffset.UtcNow;
        try
        {
            async Task<ScalePod> NewPodAsync()
            {
                var pod = new ScalePod(pods.Count, await Backends.StartOneAsync(spec, options, cancellationToken)) { RequestedAt = DateTimeOffset.UtcNow };
                pods.Add(pod);
                return pod;
            }

            // Pods start one at a time, so the silo being configured is always the newest pod's.
            configuring = await NewPodAsync();
            cluster = OrleansDesign.CreateBuilder(1, context, () => configuring.Backend.Url).Build();
            await cluster.DeployAsync().WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
            configuring.Silo = cluster.Silos[0];
            // The first pod was idle before the batch came: its window opens at the push.
            configuring.Backend.ResetStats();
            pushedAt = DateTimeOffset.UtcNow;
            configuring.ActiveAt = pushedAt;
            await redis.Db.ListRightPushAsync(keys.Ready, workload.Items.Select(i => (StackExchange.Redis.RedisValue)i.Json).ToArray());
            history.Add((0, 1));

            var clock = Stopwatch.StartNew();
            var nextPoll = TimeSpan.Zero;
            long done;
            while ((done = await RawResults.CountAsync(redis.Db, keys)) < workload.DistinctIds)
            {
                if (clock.Elapsed > timeout)
                {
                    log.WriteLine($"[scale] timed out after {timeout.TotalSeconds:0} s with {done}/{workload.DistinctIds} results");
                    break;
                }

                if (clock.Elapsed >= nextPoll)
                {
                    nextPoll = clock.Elapsed + PollInterval;
                    var metric = await redis.Db.ListLengthAsync(keys.Ready) + await redis.Db.HashLengthAsync(keys.InFlight);
                    var desired = Math.Clamp((int)Math.Ceiling(metric / (double)Target), MinReplicas, MaxReplicas);
                    var running = pods.Where(p => p.Silo is not null && p.StopRequestedAt is null).ToList();
                    for (var n = running.Count; n < desired; n++)
                    {
                        configuring = await NewPodAsync();
                        configuring.Silo = await cluster.StartAdditionalSiloAsync().WaitAsync(TimeSpan.FromMinutes(2), cancellationToken);
                        configuring.ActiveAt = DateTimeOffset.UtcNow;
                        configuring.BusyAtStart = configuring.Backend.GetStats().BusySlotSeconds;
                        log.WriteLine($"[scale] {done} results, {metric} outstanding: pod {configuring.Index} Active {(configuring.ActiveAt - configuring.RequestedAt).Value.TotalSeconds:0.00} s after it was asked for");
                    }

                    for (var n = running.Count; n > desired; n--)
                    {
                        // A ReplicaSet removes the newest pod first; the stop is SIGTERM's path: drain, then leave.
                        var leaving = pods.Last(p => p.Silo is not null && p.StopRequestedAt is null);
                        leaving.StopRequestedAt = DateTimeOffset.UtcNow;
                        await cluster.StopSiloAsync(leaving.Silo!);
                        leaving.ExitedAt = DateTimeOffset.UtcNow;
                        leaving.BusyAtEnd = leaving.Backend.GetStats().BusySlotSeconds;
                        leaving.Served = leaving.Backend.GetStats().Served;
                        log.WriteLine($"[scale] {done} results, {metric} outstanding: pod {leaving.Index} stopped in {(leaving.ExitedAt - leaving.StopRequestedAt).Value.TotalSeconds:0.00} s");
                    }

                    var now = pods.Count(p => p.Silo is not null && p.StopRequestedAt is null);
                    if (history[^1].Item2 != now)
                    {
                        history.Add(((DateTimeOffset.UtcNow - pushedAt).TotalSeconds, now));
                    }
                }

                await Task.Delay(ResultPoll, cancellationToken);
            }

            // The pods still up at the end: their window closes at the last result.
            foreach (var pod in pods.Where(p => p.ExitedAt is null))
            {
                var stats = pod.Backend.GetStats();
                pod.BusyAtEnd = stats.BusySlotSeconds;
                pod.Served = stats.Served;
            }

            var completions = await Runner.CompletionTimesAsync(redis, keys);
            var lastResult = completions.Count == 0 ? DateTimeOffset.UtcNow : completions.Max();
            var dead = (long?)await redis.Db.HashGetAsync(keys.Stats, "dead") ?? 0;
            var duplicates = await RawResults.DuplicatesAsync(redis.Db, keys);
            double Since(DateTimeOffset at) => (at - pushedAt).TotalSeconds;
            var figures = pods.Where(p => p.ActiveAt is not null).Select(p =>
            {
                var first = recorder.LoadOf(p.Backend.Url.Authority).FirstSent;
                var end = p.ExitedAt is { } exited && exited < lastResult ? exited : lastResult;
                var start = p.ActiveAt!.Value;
                return new PodFigures(
                    p.Index, spec.Parallel, Since(p.RequestedAt), p.Index == 0 ? double.NaN : (start - p.RequestedAt).TotalSeconds, Since(start),
                    first is { } f ? (f - start).TotalSeconds : null,
                    p.StopRequestedAt is { } s ? Since(s) : null,
                    p.ExitedAt - p.StopRequestedAt is { } drain ? drain.TotalSeconds : null,
                    (p.BusyAtEnd ?? 0) - p.BusyAtStart,
                    spec.Parallel * Math.Max(0, (end - start).TotalSeconds),
                    p.Served);
            }).ToArray();
            var result = new ScaleResult(
                workload.DistinctIds, workload.DistinctIds - completions.Count, dead, duplicates, Since(lastResult), options.TimeScale,
                Target, MinReplicas, MaxReplicas, PollInterval, history, figures);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[scale/D] {completions.Count}/{workload.DistinctIds} in {result.MakespanSeconds:0.0} s, goodput {result.Goodput:P1}, replicas {string.Join(" → ", history.Select(h => h.Item2))}, lost {result.Lost}, dead {dead}"));
            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            log.WriteLine($"[scale/D] FAILED: {ex}");
            return new ScaleResult(workload.DistinctIds, workload.DistinctIds, 0, 0, double.NaN, options.TimeScale, Target, MinReplicas, MaxReplicas,
                PollInterval, history, [], ex.GetType().Name + ": " + ex.Message);
        }
        finally
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }

            foreach (var pod in pods)
            {
                await pod.Backend.DisposeAsync();
            }

            await redis.FlushAsync();
        }
    }
}
