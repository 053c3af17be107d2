using System.Diagnostics;
using System.Globalization;
using OllamaSim;
using OrleansLlm.Benchmarks.Infrastructure;
using StackExchange.Redis;

namespace OrleansLlm.Benchmarks;

/// <summary>
/// Per-item cost: 2 silo processes, each beside its own simulator at time scale 0 (every answer instant, 16 slots),
/// a warm-up batch, then N cities submitted as one batch through the CLI process (<c>orleansllm submit --wait</c>) and
/// timed to the batch's end. Whatever limits items per second here is OrleansLlm itself, and what Redis and the silos
/// spent on each item is counted. With <c>--baseline</c> another build runs the same, alternating, in the same run.
/// </summary>
public sealed class Overhead(RedisProcess redis, Workload workload, BenchmarkOptions options, TextWriter log)
{
    public const int Slots = 16;

    /// <summary>Cities of one warm-up batch.</summary>
    public const int WarmUpItems = 5000;

    /// <summary>
    /// Warm-up batches go on until one has the silos' JIT compile fewer methods than this share of all it compiled so
    /// far: tiered compilation rewrites hot methods for tens of thousands of items (some 28,000 methods: the first
    /// tier, the instrumented one, then the optimised one, on a background thread), and a measurement taken after 5,000
    /// items counted half of the silos' CPU as that one-off cost. A pod serving a long batch runs settled code.
    /// </summary>
    public const double SettledJitShare = 0.01;

    /// <summary>Most warm-up batches: the measurement goes ahead after these, settled or not, and says how much JIT it saw.</summary>
    public const int MaxWarmUps = 12;
    public const int ClusterShards = 3;

    // The CLI's own 10 s default is too short on a machine this loaded: a missed gateway fails the whole run.
    private const string ConnectTimeout = "2m";

    /// <summary>
    /// Every run asked for: per Redis (single, cluster), <c>--repeat</c> rounds of each build, the baseline first in odd
    /// rounds and second in even ones. A run may cost more the later it comes in one Redis and one harness process (five
    /// pairs run baseline first measured the second build 4–58 µs of silo CPU an item dearer, the two the other way
    /// round −15 and +48 µs); a fixed order would bias every comparison the same way.
    /// </summary>
    public async Task<IReadOnlyList<OverheadResult>> RunAsync(CancellationToken cancellationToken)
    {
        SiloBuild[] builds = options.Baseline is { } checkout ? [SiloBuild.Baseline(checkout), SiloBuild.Current()] : [SiloBuild.Current()];
        var results = new List<OverheadResult>();
        foreach (var target in options.OverheadRedis)
        {
            await using var cluster = target == BenchmarkOptions.ClusterRedis ? await RedisClusterProcess.StartAsync(cancellationToken) : null;
            IRedisEndpoint endpoint = cluster is null ? redis : cluster;
            for (var round = 1; round <= options.Repeat; round++)
            {
                foreach (var build in round % 2 == 1 ? builds : Enumerable.Reverse(builds))
                {
                    results.Add(await MeasureAsync(build, endpoint, target, cluster is null ? 1 : ClusterShards, round, cancellationToken));
                }
            }
        }

        return results;
    }

    private async Task<OverheadResult> MeasureAsync(SiloBuild build, IRedisEndpoint endpoint, string target, int shards, int round, CancellationToken cancellationToken)
    {
        var load = MachineInfo.LoadAverage();
        var id = $"bench-cost-{Guid.NewGuid():N}"[..24];
        var simulators = new List<SimulatorServer>();
        var silos = new List<SiloProcess>();
        try
        {
            var queue = QueueName(endpoint, id, shards);
            // One after the other, so a silo that fails to start leaves nothing running that the finally can't see.
            for (var i = 0; i < 2; i++)
            {
                simulators.Add(await Backends.StartOneAsync(new BackendSpec(Slots, 1), options with { TimeScale = 0 }, cancellationToken));
                silos.Add(await SiloProcess.StartAsync(SiloSettings(endpoint, id, queue, shards, simulators[i].Url), cancellationToken, build.SiloDll));
            }

            var cli = new Dictionary<string, string> { ["Redis__ConnectionString"] = endpoint.ConnectionString, ["Orleans__ClusterId"] = id };
            // JIT, connection pools and the controllers' climb happen here, not in the measurement.
            var warmUps = await WarmUpAsync(build, silos, cli, id, cancellationToken);
            foreach (var simulator in simulators)
            {
                simulator.ResetStats();
            }

            var result = await MeasureBatchAsync(build, endpoint, silos, cli, id, cancellationToken) with
            {
                Redis = target, Shards = shards, Round = round, Load = $"{load} → {MachineInfo.LoadAverage()}", WarmUps = warmUps,
            };
            result = result with { ExtraCalls = simulators.Sum(s => s.GetStats().Served) - (result.Items - result.Missing) };
            log.WriteLine(Describe(result));
            return result;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            log.WriteLine($"[overhead/{target}/{build.Name}] FAILED: {ex}");
            return OverheadResult.Failure(build.Name, target, shards, round, workload.DistinctIds, load, ex.GetType().Name + ": " + ex.Message);
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }

            foreach (var simulator in simulators)
            {
                await simulator.DisposeAsync();
            }

            foreach (var master in endpoint.Connection.GetServers().Where(s => !s.IsReplica))
            {
                await master.FlushAllDatabasesAsync();
            }
        }
    }

    /// <summary>Warm-up batches until the silos' JIT has settled (<see cref="SettledJitShare"/>); returns how many ran.</summary>
    private async Task<int> WarmUpAsync(SiloBuild build, IReadOnlyList<SiloProcess> silos, Dictionary<string, string> cli, string id, CancellationToken cancellationToken)
    {
        for (var batch = 1; ; batch++)
        {
            var (before, cpuBefore) = (await RuntimeAsync(silos, cancellationToken), silos.Sum(s => s.CpuSeconds));
            await CliRun.RunAsync(build.CliDll, cli, Submit(WarmUpItems, $"{id}-warm-up-{batch}"), cancellationToken);
            var after = await RuntimeAsync(silos, cancellationToken);
            var methods = after.Methods - before.Methods;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[overhead/{build.Name}] warm-up {batch}: silo CPU {silos.Sum(s => s.CpuSeconds) - cpuBefore:0.00} s; JIT {methods:N0} methods ({after.Methods:N0} so far), {after.Seconds - before.Seconds:0.00} s"));
            if (methods < SettledJitShare * after.Methods || batch == MaxWarmUps)
            {
                return batch;
            }
        }
    }

    /// <summary>Methods compiled, seconds spent compiling and bytes allocated so far, summed over the silos.</summary>
    private static async Task<(double Methods, double Seconds, double Allocated)> RuntimeAsync(IReadOnlyList<SiloProcess> silos, CancellationToken cancellationToken)
    {
        var (methods, seconds, allocated) = (0.0, 0.0, 0.0);
        foreach (var silo in silos)
        {
            var runtime = await silo.RuntimeAsync(cancellationToken);
            (methods, seconds, allocated) = (methods + runtime.Methods, seconds + runtime.Seconds, allocated + runtime.Allocated);
        }

        return (methods, seconds, allocated);
    }

    /// <summary>The batch itself: counters read just before the CLI starts and just after it exits, then its results checked.</summary>
    private async Task<OverheadResult> MeasureBatchAsync(
        SiloBuild build, IRedisEndpoint endpoint, IReadOnlyList<SiloProcess> silos, Dictionary<string, string> cli, string id, CancellationToken cancellationToken)
    {
        var batch = id + "-measured";
        var redisBefore = await RedisCounters.ReadAsync(endpoint.Connection);
        var siloBefore = silos.Sum(s => s.CpuSeconds);
        var switchesBefore = silos.Sum(s => CpuTime.ContextSwitches(s.ProcessId));
        var runtimeBefore = await RuntimeAsync(silos, cancellationToken);
        var harnessBefore = CpuTime.OfThisProcess();
        var started = DateTimeOffset.UtcNow;
        var submit = await CliRun.RunAsync(build.CliDll, cli, Submit(workload.Count, batch), cancellationToken);
        var harness = CpuTime.OfThisProcess() - harnessBefore;
        var siloCpu = silos.Sum(s => s.CpuSeconds) - siloBefore;
        var switches = silos.Sum(s => CpuTime.ContextSwitches(s.ProcessId)) - switchesBefore;
        var runtimeAfter = await RuntimeAsync(silos, cancellationToken);
        var redisAfter = await RedisCounters.ReadAsync(endpoint.Connection);
        var masters = redisAfter.Select(after => after - redisBefore.Single(before => before.Endpoint == after.Endpoint)).ToArray();

        var (missing, duplicated, last) = await CheckResultsAsync(build, cli, batch, cancellationToken);
        var seconds = last is { } end ? (end - started).TotalSeconds : submit.Seconds;
        return new OverheadResult(
            build.Name, "", 1, 1, workload.DistinctIds, seconds, submit.Seconds, masters, siloCpu, submit.CpuSeconds, harness, missing, duplicated, 0, "")
        {
            SiloJitSeconds = runtimeAfter.Seconds - runtimeBefore.Seconds,
            SiloJitMethods = runtimeAfter.Methods - runtimeBefore.Methods,
            SiloAllocatedBytes = runtimeAfter.Allocated - runtimeBefore.Allocated,
            SiloContextSwitches = switches,
        };
    }

    /// <summary>Downloads the batch's results through the CLI: ids without a result, results of an id seen before, and the last <c>completed_at</c>.</summary>
    private async Task<(int Missing, int Duplicated, DateTimeOffset? Last)> CheckResultsAsync(SiloBuild build, Dictionary<string, string> cli, string batch, CancellationToken cancellationToken)
    {
        var file = Path.Combine(Path.GetTempPath(), $"{batch}.jsonl");
        try
        {
            await CliRun.RunAsync(build.CliDll, cli, ["results", batch, "--out", file, "--connect-timeout", ConnectTimeout], cancellationToken);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var duplicated = 0;
            DateTimeOffset? last = null;
            foreach (var line in await File.ReadAllLinesAsync(file, cancellationToken))
            {
                var result = ResultDocument.Read(line);
                duplicated += seen.Add(result.Id) ? 0 : 1;
                if (result.CompletedAt is { } at && (last is null || at > last))
                {
                    last = at;
                }
            }

            return (workload.Items.Select(i => i.Id).Distinct(StringComparer.Ordinal).Count(i => !seen.Contains(i)), duplicated, last);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>
    /// The queue's name: on a cluster, a hash tag whose partitions each land on another master, so that the items can
    /// spread evenly at all; the silos name partition p of <c>{name}</c> <c>{name:p}</c> (<c>Queue:Shards</c>).
    /// </summary>
    private static string QueueName(IRedisEndpoint endpoint, string id, int shards) =>
        endpoint is RedisClusterProcess cluster ? cluster.QueueNameOverMasters(id, shards, OrleansLlm.Queue.QueueShards.NameOf) : id;

    private static Dictionary<string, string> SiloSettings(IRedisEndpoint endpoint, string id, string queue, int shards, Uri ollama)
    {
        var settings = new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = endpoint.ConnectionString,
            ["Orleans:ClusterId"] = id,
            // On a cluster every key of a queue (partition) must share a hash tag.
            ["Queue:Name"] = queue,
            ["Worker:MaxConcurrency"] = Slots.ToString(CultureInfo.InvariantCulture),
            ["Ollama:Url"] = ollama.ToString(),
        };
        if (shards > 1)
        {
            settings["Queue:Shards"] = shards.ToString(CultureInfo.InvariantCulture);
        }

        return settings;
    }

    // The first N rows of the file, as the workload holds them: the CLI reads them with the same ItemSource.
    private static string[] Submit(int rows, string batch) =>
        ["submit", Workload.DataFile(), "--limit", rows.ToString(CultureInfo.InvariantCulture), "--batch", batch, "--wait", "--connect-timeout", ConnectTimeout];

    private static string Describe(OverheadResult r) => string.Create(CultureInfo.InvariantCulture,
        $"[overhead/{r.Redis}/{r.Build}/round {r.Round}] {r.Items:N0} items in {r.Seconds:0.00} s ({r.ItemsPerSecond:N0} items/s; CLI {r.CliSeconds:0.00} s): " +
        $"{r.RedisCommandsPerItem:0.0} Redis commands and {r.ScriptCallsPerItem:0.00} script calls per item, Redis CPU {r.RedisMicrosecondsPerItem:0} µs, " +
        $"silo CPU {r.SiloMicrosecondsPerItem:0} µs (JIT: {r.SiloJitMethods:N0} methods, {r.SiloJitSeconds:0.00} s; {r.WarmUps} warm-up batches; {r.SiloContextSwitchesPerItem:0.00} context switches; {r.SiloKilobytesPerItem:0.0} KB allocated), CLI CPU {r.CliMicrosecondsPerItem:0} µs per item; shares of Redis CPU {string.Join(" / ", r.CpuShares.Select(s => $"{s * 100:0}%"))}; " +
        $"missing {r.Missing}, duplicated {r.Duplicated}, extra Ollama calls {r.ExtraCalls}; load {r.Load}");
}
