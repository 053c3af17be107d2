using System.Diagnostics;
using System.Text.Json;
using OrleansLlm.Benchmarks.Designs;
using OrleansLlm.Benchmarks.Infrastructure;
using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.Benchmarks;

/// <summary>Runs one design on one scenario: fresh backends, fresh queue, push everything, wait, measure, clean up.</summary>
public sealed class Runner(RedisProcess redis, Workload workload, BenchmarkOptions options, TextWriter log)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public async Task<RunResult> RunAsync(Scenario scenario, IDesign design, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var ideal = scenario.IdealSeconds(workload.TotalSoloSeconds, workload.Count, options.TimeScale, options.ScalingExponent);
        var timeout = TimeSpan.FromSeconds(ideal * options.TimeoutFactor) + options.TimeoutSlack;
        var description = design.Describe(scenario, options);
        try
        {
            var result = await MeasureAsync(scenario, design, ideal, timeout, description, wall, cancellationToken);
            log.WriteLine($"[{scenario.Name}/{design.Id}{(design.Id == "C" && options.PerConsumer != new BenchmarkOptions().PerConsumer ? $"×{options.PerConsumer}" : "")}{(design.Id == "C" && scenario.Backends.Any(b => b.OpenAi) ? $"×{options.ServerPerConsumer} per server" : "")}] {workload.DistinctIds - result.Lost}/{workload.DistinctIds} in {result.MakespanSeconds:0.0} s " +
                $"(ideal {ideal:0.0} s, ×{result.Ratio:0.00}), utilisation {result.Utilisation:P0}, queue wait p50/p99 " +
                $"{result.QueueWait.P50:0.00}/{result.QueueWait.P99:0.00} s (simulators: mean {result.SimulatorQueueWaitMean:0.00} s vs ours " +
                $"{result.QueueWait.Mean:0.00} s, max p99 {result.SimulatorQueueWaitMaxP99:0.00} s), served per backend " +
                $"[{string.Join(' ', result.ServedPerBackend)}], wall {wall.Elapsed.TotalSeconds:0.0} s");
            foreach (var line in result.WaitsPerBackend)
            {
                log.WriteLine($"[{scenario.Name}/{design.Id}] queue wait, {line}");
            }

            foreach (var (series, i) in (result.Limits ?? []).Select((l, i) => (l, i)))
            {
                log.WriteLine($"[{scenario.Name}/{design.Id}] concurrency limit once a second, backend {i}: {Report.RunLength(series)}");
            }

            if (result.Loss.Count > 0)
            {
                log.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"[{scenario.Name}/{design.Id}] ready list empty at {result.QueueEmptySeconds:0.000} s of {result.MakespanSeconds:0.000} s; {LossSplit.Describe(result.Loss)}"));
                foreach (var (split, i) in result.Loss.Select((l, i) => (l, i)))
                {
                    log.WriteLine($"[{scenario.Name}/{design.Id}] backend {i}: {LossSplit.Describe([split])}");
                }
            }

            foreach (var (fill, i) in result.Fill.Select((f, i) => (f, i)))
            {
                log.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"[{scenario.Name}/{design.Id}] backend {i}: first item at {fill.FirstItemSeconds:0.000} s, {fill.Peak} in flight at {fill.ReachedSeconds:0.000} s, service {fill.ServiceSeconds:0.000} s: {fill.ServiceTimes:0.0} service times"));
            }

            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // One design failing (say, a cluster that won't start) must not hide the others' results.
            log.WriteLine($"[{scenario.Name}/{design.Id}] FAILED: {ex}");
            return new RunResult
            {
                Scenario = scenario.Name, Design = design.Id, Description = description, Items = workload.DistinctIds, TimeScale = options.TimeScale,
                MakespanSeconds = double.NaN, TimedOut = true, IdealSeconds = ideal, Utilisation = double.NaN,
                QueueWait = Summary.Empty, SimulatorQueueWaitMean = double.NaN, SimulatorQueueWaitMaxP99 = double.NaN,
                EndToEnd = Summary.Empty, Lost = workload.DistinctIds, ExtraCalls = 0, DuplicateResults = 0, ServedPerBackend = [],
                WallSeconds = wall.Elapsed.TotalSeconds, Error = ex.GetType().Name + ": " + ex.Message,
            };
        }
        finally
        {
            await redis.FlushAsync();
        }
    }

    private async Task<RunResult> MeasureAsync(
        Scenario scenario, IDesign design, double ideal, TimeSpan timeout, string description, Stopwatch wall, CancellationToken cancellationToken)
    {
        var keys = new QueueKeys($"bench-{scenario.Name}-{design.Id}-{Guid.NewGuid():N}"[..40]);
        var recorder = new CallRecorder();
        await using var backends = await Backends.StartAsync(scenario, options, cancellationToken);
        var context = new DesignContext(redis, keys, backends.Urls, recorder, options, timeout + TimeSpan.FromSeconds(10), scenario.Backends);

        IReadOnlyList<OllamaSim.SimulatorStats> stats;
        IReadOnlyList<CallSample> calls;
        List<DateTimeOffset> completions;
        long duplicates;
        IReadOnlyList<IReadOnlyList<int>>? limits;
        DateTimeOffset pushedAt, endedAt;
        DateTimeOffset? queueEmptyAt;
        bool timedOut;
        await using (var running = await design.StartAsync(context, cancellationToken))
        {
            backends.ResetStats();
            pushedAt = DateTimeOffset.UtcNow;
            // One RPUSH: every item is queued at the same instant, as a batch job would do.
            await redis.Db.ListRightPushAsync(keys.Ready, workload.Items.Select(i => (RedisValue)i.Json).ToArray());
            (timedOut, queueEmptyAt) = await WaitForResultsAsync(scenario, backends, keys, timeout, cancellationToken);
            endedAt = DateTimeOffset.UtcNow;

            // Everything is read before the design stops: what a silo finishes while draining after a timeout
            // must not count, nor the calls it makes on the way down.
            stats = backends.Stats();
            calls = recorder.Snapshot();
            completions = await CompletionTimesAsync(redis, keys);
            duplicates = await RawResults.DuplicatesAsync(redis.Db, keys);
            limits = (running as IDesignTrace)?.Limits();
        }

        var makespan = timedOut || completions.Count == 0
            ? (endedAt - pushedAt).TotalSeconds
            : (completions.Max() - pushedAt).TotalSeconds;
        var served = stats.Sum(s => s.Served);
        var waits = stats.Where(s => s.QueueWaitSeconds.Count > 0).ToArray();
        double? Since(DateTimeOffset? at) => at is { } t ? (t - pushedAt).TotalSeconds : null;
        var fill = backends.Urls.Select((url, i) =>
        {
            var load = recorder.LoadOf(url.Authority);
            var peak = scenario.Backends[i].Peak(options.ScalingExponent);
            var service = Summary.Of(calls.Where(c => c.Backend == url.Authority).Select(c => c.ServiceSeconds)).P50;
            return new SlotFill(peak, Since(load.FirstSent), Since(load.FirstReached(peak)), service);
        }).ToArray();
        var loss = LossSplit.Of(calls, backends.Urls.Select((u, i) => (u.Authority, scenario.Backends[i].Parallel, scenario.Backends[i].Peak(options.ScalingExponent))).ToArray(), pushedAt, makespan, Since(queueEmptyAt));
        return new RunResult
        {
            Scenario = scenario.Name,
            Design = design.Id,
            Description = description,
            Items = workload.DistinctIds,
            TimeScale = options.TimeScale,
            MakespanSeconds = makespan,
            TimedOut = timedOut,
            IdealSeconds = ideal,
            Utilisation = stats.Sum(s => s.BusySlotSeconds) / stats.Sum(s => s.Parallel * makespan),
            QueueWait = Summary.Of(calls.Select(c => c.QueueWaitSeconds)),
            SimulatorQueueWaitMean = waits.Sum(s => s.QueueWaitSeconds.Sum) / Math.Max(1, waits.Sum(s => s.QueueWaitSeconds.Count)),
            SimulatorQueueWaitMaxP99 = waits.Length == 0 ? double.NaN : waits.Max(s => s.QueueWaitSeconds.P99),
            EndToEnd = Summary.Of(completions.Select(c => (c - pushedAt).TotalSeconds)),
            Lost = workload.DistinctIds - completions.Count,
            ExtraCalls = Math.Max(0, served - completions.Count),
            DuplicateResults = duplicates,
            ServedPerBackend = stats.Select(s => s.Served).ToArray(),
            UtilisationPerBackend = stats.Select(s => s.BusySlotSeconds / (s.Parallel * makespan)).ToArray(),
            WaitP99OverService = WaitOverService(calls),
            WaitP99OverServicePerBackend = backends.Urls.Select(u => WaitOverService(calls.Where(c => c.Backend == u.Authority).ToArray())).ToArray(),
            WallSeconds = wall.Elapsed.TotalSeconds,
            Limits = limits,
            Fill = fill,
            Loss = loss,
            QueueEmptySeconds = Since(queueEmptyAt),
            ItemsPerSecondPerBackend = stats.Select(s => s.Served / makespan).ToArray(),
            ServerQueueP99PerBackend = stats.Select(s => s.QueueWaitSeconds.P99).ToArray(),
            ServiceMeanPerBackend = stats.Select(s => s.Served > 0 ? s.BusySlotSeconds / s.Served : double.NaN).ToArray(),
            SettledItemsPerSecondPerBackend = backends.Urls.Select(u => Pace(calls.Where(c => c.Backend == u.Authority), pushedAt, makespan)).ToArray(),
            WaitsPerBackend = stats.Select((st, i) =>
            {
                var ours = Summary.Of(calls.Where(c => c.Backend == backends.Urls[i].Authority).Select(c => c.QueueWaitSeconds));
                return $"backend {i}: derived p50/p99 {ours.P50 * 1000:0.0}/{ours.P99 * 1000:0.0} ms, simulator's p50/p99 " +
                    $"{st.QueueWaitSeconds.P50 * 1000:0.0}/{st.QueueWaitSeconds.P99 * 1000:0.0} ms";
            }).ToArray(),
        };
    }

    /// <summary>Answers per second from half the makespan to nine tenths of it: settled, and clear of the tail.</summary>
    private static double Pace(IEnumerable<CallSample> calls, DateTimeOffset pushedAt, double makespan)
    {
        var (from, to) = (makespan / 2, makespan * 0.9);
        return calls.Count(c => (c.AnsweredAt - pushedAt).TotalSeconds is var t && t >= from && t < to) / (to - from);
    }

    private static double WaitOverService(IReadOnlyCollection<CallSample> calls) =>
        Summary.Of(calls.Select(c => c.QueueWaitSeconds)).P99 / Summary.Of(calls.Select(c => c.ServiceSeconds)).P50;

    /// <summary>
    /// Polls the result count until every item has one or <paramref name="timeout"/> passes; slows a backend down
    /// halfway if the scenario says so. Until the ready list is empty, polls its length too.
    /// </summary>
    /// <returns>Whether it timed out, and when the ready list was first seen empty.</returns>
    private async Task<(bool TimedOut, DateTimeOffset? QueueEmptyAt)> WaitForResultsAsync(Scenario scenario, Backends backends, QueueKeys keys, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var slowed = false;
        var nextReport = TimeSpan.FromSeconds(10);
        DateTimeOffset? empty = null;
        while (true)
        {
            if (empty is null && await redis.Db.ListLengthAsync(keys.Ready) == 0)
            {
                empty = DateTimeOffset.UtcNow;
            }

            var done = await RawResults.CountAsync(redis.Db, keys);
            if (!slowed && scenario.SlowBackend is { } slow && done >= Scenario.SlowDownAt(workload.DistinctIds))
            {
                slowed = true;
                backends.Servers[slow].SetSpeed(scenario.Backends[slow].Speed / scenario.SlowDown);
                log.WriteLine($"[{scenario.Name}] {done} results after {clock.Elapsed.TotalSeconds:0.0} s: backend {slow} is now {scenario.SlowDown}× slower");
            }

            if (done >= workload.DistinctIds)
            {
                return (false, empty);
            }

            if (clock.Elapsed > timeout)
            {
                log.WriteLine($"[{scenario.Name}] timed out after {timeout.TotalSeconds:0} s with {done}/{workload.DistinctIds} results");
                return (true, empty);
            }

            if (clock.Elapsed > nextReport)
            {
                log.WriteLine($"[{scenario.Name}] {done}/{workload.DistinctIds} after {clock.Elapsed.TotalSeconds:0} s");
                nextReport += TimeSpan.FromSeconds(10);
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    /// <summary>When each item's result was made: <c>meta.completed_at</c>, which the silos and A/B/C's consumers both write.</summary>
    public static async Task<List<DateTimeOffset>> CompletionTimesAsync(RedisProcess redis, QueueKeys keys)
    {
        var entries = await RawResults.AllAsync(redis.Db, keys);
        var times = new List<DateTimeOffset>(entries.Count);
        foreach (var entry in entries)
        {
            using var doc = JsonDocument.Parse((string)entry.Value!);
            times.Add(doc.RootElement.GetProperty("meta").GetProperty("completed_at").GetDateTimeOffset());
        }

        return times;
    }
}
