using System.Diagnostics;
using System.Globalization;
using OrleansLlm.Batches;
using OrleansLlm.Benchmarks.Designs;
using OrleansLlm.Benchmarks.Infrastructure;
using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.Benchmarks;

/// <summary>What the million run measured.</summary>
/// <param name="LongestCalls">The longest script calls Redis logged (SLOWLOG at or above its threshold), longest first: script, µs.</param>
/// <param name="P999Microseconds">The 99.9th percentile of every script call of the run (0 when under the threshold).</param>
/// <param name="IntrinsicLatencyMicroseconds">The longest pause of a busy loop on Redis' core before the run (redis-cli --intrinsic-latency): what the machine itself adds.</param>
public sealed record MillionResult(
    int Queued,
    double EnqueueSeconds,
    double BytesPerQueuedItem,
    int SlowlogThresholdMicroseconds,
    IReadOnlyList<(string Script, long Microseconds)> LongestCalls,
    long SlowCalls,
    long ScriptCalls,
    long P999Microseconds,
    long IntrinsicLatencyMicroseconds,
    double LeaseSeconds,
    long Done,
    long Parked,
    long Removed,
    double CancelSeconds,
    double ItemsPerSecond);

/// <summary>
/// A million items queued, and the queue still quick: 900,000 items of one batch, 50,000 of a batch whose model no
/// silo serves (its items are parked on the way as leases meet them), and 50,000 of a batch cancelled while two silos
/// lease at time scale 0 (every answer instant). Redis logs every command that takes longer than a threshold
/// (SLOWLOG); the run reports the longest script calls it saw, from enqueue through leasing, parking and the cancel,
/// and Redis' <c>used_memory</c> per queued item.
/// </summary>
/// <remarks>
/// SLOWLOG times a command by the wall clock, so a redis-server the OS sets aside for this process's threads shows
/// calls as long as the pause. On a machine of two cores, redis-server gets one of its own for the run (taskset) and
/// this process the other, as Redis would have in production.
/// </remarks>
public sealed class MillionRun(RedisProcess redis, Workload workload, BenchmarkOptions options, TextWriter log)
{
    public const int Queued = 1_000_000;
    private const int Parked = 50_000;
    private const int Cancelled = 50_000;
    private const int SlowlogThresholdMicroseconds = 500;
    private static readonly TimeSpan LeaseFor = TimeSpan.FromSeconds(60);

    public async Task<MillionResult> RunAsync(CancellationToken cancellationToken)
    {
        await using var queue = await DirectQueue.ConnectAsync(redis, "million");
        var (keys, items, store) = (queue.Keys, queue.Items, queue.Store);
        var server = redis.Server;
        await server.ConfigSetAsync("slowlog-log-slower-than", SlowlogThresholdMicroseconds);
        await server.ConfigSetAsync("slowlog-max-len", 100_000);
        await server.SlowlogResetAsync();
        var pinned = await PinAsync(server);
        var intrinsic = await IntrinsicLatencyAsync();
        var scriptsBefore = (await RedisCounters.ReadAsync(server)).Scripts;
        try
        {
            var before = await UsedMemoryAsync(server);
            var clock = Stopwatch.StartNew();
            await EnqueueAsync(store, items, "bulk", Queued - Parked - Cancelled, model: null, cancellationToken);
            await EnqueueAsync(store, items, "unserved", Parked, model: "nobody-serves-this:1b", cancellationToken);
            await EnqueueAsync(store, items, "cancelled", Cancelled, model: null, cancellationToken);
            var enqueueSeconds = clock.Elapsed.TotalSeconds;
            var bytesPerItem = (double)(await UsedMemoryAsync(server) - before) / Queued;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[million] {Queued:N0} items queued in {enqueueSeconds:0.0} s, {bytesPerItem:0} bytes of Redis memory each"));

            var instant = options with { TimeScale = 0, DMaxConcurrency = Overhead.Slots };
            var scenario = new Scenario("million", "A million queued items", [new(Overhead.Slots, 1), new(Overhead.Slots, 1)]);
            await using var backends = await Backends.StartAsync(scenario, instant, cancellationToken);
            var context = new DesignContext(redis, keys, backends.Urls, new CallRecorder(), instant, TimeSpan.FromMinutes(1), scenario.Backends);
            await using (await new OrleansDesign().StartAsync(context, cancellationToken))
            {
                clock.Restart();
                // A quarter in, the cancelled batch is cancelled while the silos lease around it.
                await Task.Delay(LeaseFor / 4, cancellationToken);
                var cancelClock = Stopwatch.StartNew();
                await store.StopAsync("cancelled", BatchStates.Cancelled, cancellationToken);
                var cancelSeconds = cancelClock.Elapsed.TotalSeconds;
                await Task.Delay(LeaseFor - clock.Elapsed, cancellationToken);
                var leaseSeconds = clock.Elapsed.TotalSeconds;
                var done = (await store.GetCountsAsync("bulk", cancellationToken)).Done + (await store.GetCountsAsync("unserved", cancellationToken)).Done;
                var parked = (await store.GetCountsAsync("unserved", cancellationToken)).Parked;
                var removed = (await store.GetCountsAsync("cancelled", cancellationToken)).Removed;
                var scripts = (await RedisCounters.ReadAsync(server)).Scripts - scriptsBefore;
                var (longest, slow, p999) = await LongestScriptCallsAsync(server, scripts);
                var result = new MillionResult(
                    Queued, enqueueSeconds, bytesPerItem, SlowlogThresholdMicroseconds, longest, slow, scripts, p999, intrinsic, leaseSeconds, done, parked, removed, cancelSeconds,
                    done / leaseSeconds);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[million] {done:N0} done in {leaseSeconds:0} s ({result.ItemsPerSecond:0} items/s), {parked:N0} parked, {removed:N0} removed by the cancel in {cancelSeconds:0.0} s; " +
                    $"longest script call {(longest.Count > 0 ? $"{longest[0].Microseconds / 1000.0:0.00} ms ({longest[0].Script})" : $"under {SlowlogThresholdMicroseconds} µs")}, {slow} calls over {SlowlogThresholdMicroseconds} µs"));
                return result;
            }
        }
        finally
        {
            if (pinned)
            {
                await TasksetAsync($"0-{Environment.ProcessorCount - 1}", Environment.ProcessId, allThreads: true);
            }

            await server.ConfigSetAsync("slowlog-log-slower-than", 10_000);
            await redis.FlushAsync();
        }
    }

    /// <summary>redis-server on the last core, every thread of this process on the others; false if not pinned.</summary>
    private async Task<bool> PinAsync(IServer server)
    {
        var cores = Environment.ProcessorCount;
        if (cores < 2 || !OperatingSystem.IsLinux())
        {
            log.WriteLine("[million] not pinned: redis-server shares the cores with the silos");
            return false;
        }

        var pid = int.Parse((await server.InfoAsync("server")).SelectMany(g => g).Single(p => p.Key == "process_id").Value, CultureInfo.InvariantCulture);
        // Every thread of this process, the thread pool's included: an affinity set on the process alone (sched_setaffinity
        // of its pid) binds only its main thread, and the silos' threads would go on running on Redis' core.
        if (!await TasksetAsync((cores - 1).ToString(CultureInfo.InvariantCulture), pid, allThreads: false)
            || !await TasksetAsync(cores == 2 ? "0" : $"0-{cores - 2}", Environment.ProcessId, allThreads: true))
        {
            log.WriteLine("[million] not pinned: taskset failed");
            return false;
        }

        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[million] redis-server pinned to core {cores - 1}, every thread of this process to the other {cores - 1}"));
        return true;
    }

    private static async Task<bool> TasksetAsync(string cpus, int pid, bool allThreads)
    {
        string[] args = allThreads ? ["-a", "-pc", cpus, pid.ToString(CultureInfo.InvariantCulture)] : ["-pc", cpus, pid.ToString(CultureInfo.InvariantCulture)];
        using var taskset = Process.Start(new ProcessStartInfo("taskset", args) { RedirectStandardOutput = true })!;
        await taskset.WaitForExitAsync();
        return taskset.ExitCode == 0;
    }

    /// <summary>Items of the workload's rows, as many as asked (the rows again with new ids past the file's end), in pages.</summary>
    private async Task EnqueueAsync(RedisBatchStore store, RedisQueueItems queue, string batchId, int count, string? model, CancellationToken cancellationToken)
    {
        await store.CreateAsync(batchId, new BatchSpec(null, null, Model: model), cancellationToken);
        const int chunk = 10_000;
        for (var first = 0; first < count; first += chunk)
        {
            var items = Enumerable.Range(first, Math.Min(chunk, count - first))
                .Select(i => new BatchItem($"{batchId}-{i}", workload.Items[i % workload.Count].Json))
                .ToArray();
            await queue.EnqueueAsync(batchId, items, cancellationToken);
        }

        await store.SealAsync(batchId, cancellationToken);
    }

    private static async Task<long> UsedMemoryAsync(IServer server) =>
        long.Parse((await server.InfoAsync("memory")).SelectMany(g => g).Single(p => p.Key == "used_memory").Value, CultureInfo.InvariantCulture);

    /// <summary>The script calls SLOWLOG holds, longest first (named by their file: QueueScript's text has their SHA-1).</summary>
    private async Task<(IReadOnlyList<(string Script, long Microseconds)> Longest, long Count, long P999)> LongestScriptCallsAsync(IServer server, long allCalls)
    {
        var names = OrleansLlm.Queue.Scripts.QueueScript.All().ToDictionary(s => s.Sha1, s => s.Name, StringComparer.Ordinal);
        var calls = (await server.SlowlogGetAsync(100_000))
            .Where(e => e.Arguments.Length > 1 && ((string?)e.Arguments[0])?.ToUpperInvariant() is "EVALSHA" or "EVAL")
            .Select(e => (Script: names.GetValueOrDefault(Sha((string)e.Arguments[1]!, (string)e.Arguments[0]!), "another script"), Microseconds: (long)e.Duration.TotalMicroseconds, e.Time))
            .OrderByDescending(c => c.Microseconds)
            .ToArray();
        foreach (var group in calls.GroupBy(c => c.Script).OrderByDescending(g => g.Count()))
        {
            var sorted = group.Select(c => c.Microseconds).Order().ToArray();
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[million] {group.Key}: {sorted.Length} calls over the threshold, median of those {sorted[sorted.Length / 2] / 1000.0:0.00} ms, longest {sorted[^1] / 1000.0:0.00} ms at {string.Join(", ", group.Take(3).Select(c => c.Time.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)))}"));
        }

        // The slowest 0.1% of every call, if SLOWLOG holds that many; else it is under the threshold.
        var rank = (int)(allCalls / 1000);
        return (calls.Take(5).Select(c => (c.Script, c.Microseconds)).ToArray(), calls.Length, rank < calls.Length ? calls[rank].Microseconds : 0);
    }

    /// <summary>The longest pause of a busy loop on the core Redis runs on, in 5 s before the run, in µs (0 when it can't be measured).</summary>
    private async Task<long> IntrinsicLatencyAsync()
    {
        var core = (Environment.ProcessorCount - 1).ToString(CultureInfo.InvariantCulture);
        using var probe = Process.Start(new ProcessStartInfo("taskset", ["-c", core, "redis-cli", "--intrinsic-latency", "5"]) { RedirectStandardOutput = true });
        if (probe is null)
        {
            return 0;
        }

        var output = await probe.StandardOutput.ReadToEndAsync();
        await probe.WaitForExitAsync();
        var longest = output.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Match(l, @"Max latency so far: (\d+) microseconds")).Where(m => m.Success)
            .Select(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[million] the machine alone: a busy loop on Redis' core paused up to {longest} µs in 5 s"));
        return longest;
    }

    // EVALSHA names its script by SHA-1; EVAL carries the text itself.
    private static string Sha(string scriptOrSha, string command) =>
        command.Equals("EVALSHA", StringComparison.OrdinalIgnoreCase)
            ? scriptOrSha.ToLowerInvariant()
            : Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(scriptOrSha)));
}
