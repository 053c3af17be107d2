using System.Diagnostics;
using System.Globalization;
using OrleansLlm.Benchmarks.Designs;
using OrleansLlm.Benchmarks.Infrastructure;
using OrleansLlm.Queue;
using StackExchange.Redis;

namespace OrleansLlm.Benchmarks;

/// <summary>What one overhead run measured: D with Ollama answering at once, so only OrleansLlm's own cost remains.</summary>
public sealed record OverheadResult(
    int Silos, int Items, double Seconds, long ScriptCalls, long RedisCommands, double ProcessCpuSeconds, double RedisCpuSeconds)
{
    public double ItemsPerSecond => Items / Seconds;

    /// <summary>EVALSHA/EVAL calls per item: the round trips that move items through the queue.</summary>
    public double ScriptCallsPerItem => (double)ScriptCalls / Items;

    /// <summary>Every command Redis executed per item, those run inside the scripts included.</summary>
    public double RedisCommandsPerItem => (double)RedisCommands / Items;

    /// <summary>This process (silos, simulators, harness) and redis-server together, as a share of every core.</summary>
    public double CpuShare => (ProcessCpuSeconds + RedisCpuSeconds) / (Seconds * Environment.ProcessorCount);
}

/// <summary>
/// Per-item overhead: design D on simulators at time scale 0 (every answer instant, 16 slots each), one silo and then
/// two, with the Redis commands and the CPU they cost. Whatever limits items per second here is OrleansLlm itself.
/// </summary>
public sealed class Overhead(RedisProcess redis, Workload workload, BenchmarkOptions options, TextWriter log)
{
    public const int Slots = 16;
    private const int WarmUpItems = 1000;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    public async Task<OverheadResult> RunAsync(int silos, CancellationToken cancellationToken)
    {
        var warmUp = new Workload(workload.Items.Take(WarmUpItems).ToArray());
        var instant = options with { TimeScale = 0, DMaxConcurrency = Slots };
        var scenario = new Scenario($"overhead-{silos}", $"{silos} silo(s)", Enumerable.Repeat(new BackendSpec(Slots, 1), silos).ToArray());
        var keys = new QueueKeys($"overhead-{silos}-{Guid.NewGuid():N}"[..30]);
        await using var backends = await Backends.StartAsync(scenario, instant, cancellationToken);
        var context = new DesignContext(redis, keys, backends.Urls, new CallRecorder(), instant, TimeSpan.FromMinutes(1));
        try
        {
            await using var run = await new OrleansDesign().StartAsync(context, cancellationToken);

            // JIT, connection pools and the controllers' climb happen here, not in the measurement.
            await PushAndWaitAsync(keys, warmUp, expected: Distinct(warmUp), cancellationToken);
            // The measured items include the warm-up's (the first rows of the file): start their results afresh.
            foreach (var day in await redis.Db.SortedSetRangeByRankAsync(keys.RawDays))
            {
                await redis.Db.KeyDeleteAsync([keys.RawResults((long)day), keys.RawResultOrder((long)day)]);
            }

            var server = redis.Connection.GetServer(redis.Connection.GetEndPoints()[0]);
            var (scriptsBefore, commandsBefore) = await CommandStatsAsync(server);
            var redisCpuBefore = await RedisCpuAsync(server);
            var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            var clock = Stopwatch.StartNew();
            var polls = await PushAndWaitAsync(keys, workload, expected: Distinct(workload), cancellationToken);
            var seconds = clock.Elapsed.TotalSeconds;
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
            var redisCpu = await RedisCpuAsync(server) - redisCpuBefore;
            var (scriptsAfter, commandsAfter) = await CommandStatsAsync(server);

            // Our own polling (the days' index and one HLEN per poll) and the push are the harness's, not the system's.
            var result = new OverheadResult(
                silos, workload.Count, seconds, scriptsAfter - scriptsBefore, commandsAfter - commandsBefore - (2 * polls) - 1, cpu, redisCpu);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"[overhead/{silos} silo(s)] {workload.Count} items in {seconds:0.00} s: {result.ItemsPerSecond:0} items/s, " +
                $"{result.ScriptCallsPerItem:0.00} script calls and {result.RedisCommandsPerItem:0.0} Redis commands per item, CPU {result.CpuShare:P0} of {Environment.ProcessorCount} cores"));
            return result;
        }
        finally
        {
            await redis.FlushAsync();
        }
    }

    private async Task<long> PushAndWaitAsync(QueueKeys keys, Workload workload, int expected, CancellationToken cancellationToken)
    {
        await redis.Db.ListRightPushAsync(keys.Ready, workload.Items.Select(i => (RedisValue)i.Json).ToArray());
        var deadline = Stopwatch.StartNew();
        long polls = 0;
        while (true)
        {
            polls++;
            if (await RawResults.CountAsync(redis.Db, keys) >= expected)
            {
                return polls;
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(5))
            {
                throw new TimeoutException($"overhead run: fewer than {expected} results after 5 minutes");
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    // The file holds a few cities twice under one id; their second answer is a duplicate, not a second result.
    private static int Distinct(Workload workload) => workload.Items.Select(i => i.Id).Distinct(StringComparer.Ordinal).Count();

    private static async Task<(long Scripts, long All)> CommandStatsAsync(IServer server)
    {
        long scripts = 0, all = 0;
        foreach (var group in await server.InfoAsync("commandstats"))
        {
            foreach (var (name, value) in group)
            {
                var calls = long.Parse(value.Split(',')[0].Split('=')[1], CultureInfo.InvariantCulture);
                all += calls;
                if (name is "cmdstat_evalsha" or "cmdstat_eval")
                {
                    scripts += calls;
                }
            }
        }

        return (scripts, all);
    }

    private static async Task<double> RedisCpuAsync(IServer server)
    {
        var cpu = (await server.InfoAsync("cpu")).SelectMany(g => g).ToDictionary(kv => kv.Key, kv => kv.Value);
        return double.Parse(cpu["used_cpu_user"], CultureInfo.InvariantCulture) + double.Parse(cpu["used_cpu_sys"], CultureInfo.InvariantCulture);
    }
}
