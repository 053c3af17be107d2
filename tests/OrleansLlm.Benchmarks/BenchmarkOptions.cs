using System.CommandLine;
using OrleansLlm.Benchmarks.Designs;

namespace OrleansLlm.Benchmarks;

/// <summary>Everything one benchmark run is parameterised by; the report prints all of it.</summary>
public sealed record BenchmarkOptions
{
    /// <summary>
    /// Tiny and fast, for CI: exits non-zero if any design loses an item, and writes no report unless --out is given.
    /// Every scenario but the whole data set, one limit of a sweep besides C's own, and the scale scenario up to 2 pods.
    /// </summary>
    public bool Smoke { get; init; }

    /// <summary>
    /// Items per design run (the first N rows of data/worldcities.csv, biggest cities first), when
    /// <see cref="ItemsSet"/>; otherwise each scenario's own count (<see cref="Scenario.Items"/>).
    /// </summary>
    public int Items { get; init; } = 1000;

    /// <summary>--items was given: it applies to every scenario.</summary>
    public bool ItemsSet { get; init; }

    /// <summary>--time-scale was given: it applies to every scenario.</summary>
    public bool TimeScaleSet { get; init; }

    /// <summary>--d-max-concurrency was given: it applies to every scenario.</summary>
    public bool DMaxConcurrencySet { get; init; }

    public IReadOnlyList<string> Scenarios { get; init; } = Scenario.Names;

    public IReadOnlyList<string> Designs { get; init; } = DesignCatalog.Ids;

    /// <summary>Markdown report; the SVG chart goes beside it with the extension .svg. Null: print only.</summary>
    public string? Out { get; init; }

    /// <summary>
    /// The simulators' time scale. 0.02 makes the workshop prompt's 12.5 solo seconds 0.25 s, so a request takes
    /// 0.25–0.4 s: long enough that HTTP, Redis and Orleans overhead stays small next to the simulated work.
    /// </summary>
    public double TimeScale { get; init; } = 0.02;

    /// <summary>The simulators' scaling exponent e (aggregate throughput with k busy slots = k^e × solo).</summary>
    public double ScalingExponent { get; init; } = 0.32;

    /// <summary>Fixed parallelism of each co-located consumer in design C.</summary>
    public int PerConsumer { get; init; } = 2;

    /// <summary>
    /// Fixed parallelism of C's consumers beside OpenAI-compatible servers (the vllm scenarios' sweep sets it; the CPU
    /// backends beside them keep <see cref="PerConsumer"/>); null: <see cref="PerConsumer"/>.
    /// </summary>
    public int? ServerPerConsumer { get; init; }

    /// <summary>C's parallelism beside a backend: <see cref="ServerPerConsumer"/> for an OpenAI-compatible server, else <see cref="PerConsumer"/>.</summary>
    public int PerConsumerFor(BackendSpec backend) => backend.OpenAi ? ServerPerConsumer ?? PerConsumer : PerConsumer;

    /// <summary>Fixed parallelism of design A's single consumer; null = backends × <see cref="PerConsumer"/> (C's total).</summary>
    public int? AParallelism { get; init; }

    /// <summary>Fixed parallelism of each of design B's consumers; null = <see cref="PerConsumer"/>, as in C.</summary>
    public int? BPerConsumer { get; init; }

    /// <summary>Design D's <c>Worker:MaxConcurrency</c>: the cap the silo's concurrency controller works under.</summary>
    public int DMaxConcurrency { get; init; } = 16;

    /// <summary>A run gives up after ideal × this + <see cref="TimeoutSlack"/>, and counts what is missing as lost.</summary>
    public double TimeoutFactor { get; init; } = 4;

    public TimeSpan TimeoutSlack { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Items of the overhead scenario's batch (<c>--overhead N</c>, which also adds the scenario); null: the scenario's own 20,000, or <c>--items</c>.</summary>
    public int? OverheadItems { get; init; }

    public const string SingleRedis = "single";
    public const string ClusterRedis = "cluster";

    /// <summary>Where the overhead scenario runs: one redis-server, and/or a 3-master Redis Cluster with <c>Queue:Shards</c> 3.</summary>
    public IReadOnlyList<string> OverheadRedis { get; init; } = [SingleRedis];

    /// <summary>A checkout of another commit, built with <c>dotnet build -c Release</c>, whose silo and CLI the overhead scenario measures too, in turn with this one's.</summary>
    public string? Baseline { get; init; }

    /// <summary>Rounds of the overhead scenario: each round runs the baseline (if any), then this build.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>Seed of the random load balancer, so A and B pick the same backends run after run.</summary>
    public int Seed { get; init; } = 42;

    public static readonly BenchmarkOptions SmokeDefaults = new()
    {
        Smoke = true,
        Items = 60,
        ItemsSet = true,
        TimeScale = 0.01,
        TimeScaleSet = true,
        TimeoutFactor = 4,
        TimeoutSlack = TimeSpan.FromSeconds(10),
    };

    public int AParallelismFor(int backends) => AParallelism ?? backends * PerConsumer;

    public int BPerConsumerOrDefault => BPerConsumer ?? PerConsumer;

    /// <summary>The command line as a reader would type it to reproduce this run.</summary>
    public string Command { get; init; } = "";

    public static RootCommand BuildCommand(Func<BenchmarkOptions, CancellationToken, Task<int>> run)
    {
        var smoke = new Option<bool>("--smoke") { Description = "tiny and fast (CI): exit 1 if any design loses items; no report unless --out" };
        var items = new Option<int?>("--items") { Description = "items per design run, every scenario (default: the scenario's own, 1000 for homogeneous, heterogeneous and slowdown; 60 with --smoke)" };
        var scenario = new Option<string?>("--scenario") { Description = $"comma-separated scenarios: {string.Join(", ", Scenario.Names)} (default: all)" };
        var designs = new Option<string?>("--designs") { Description = "comma-separated designs among A,B,C,D (default: all)" };
        var output = new Option<string?>("--out") { Description = "markdown report to write, chart beside it as .svg (default docs/benchmarks.md; none with --smoke)" };
        var timeScale = new Option<double?>("--time-scale") { Description = "simulator time scale, every scenario (default: the scenario's own, 0.02 for most; 0.01 with --smoke)" };
        var perConsumer = new Option<int?>("--per-consumer") { Description = "fixed parallelism of each consumer in C (default 2)" };
        var serverPerConsumer = new Option<int?>("--server-per-consumer") { Description = "fixed parallelism of C's consumers beside OpenAI-compatible servers, every scenario (default: the scenario's, 48 in vllm)" };
        var aParallelism = new Option<int?>("--a-parallelism") { Description = "fixed parallelism of A's single consumer (default: backends × per-consumer)" };
        var bPerConsumer = new Option<int?>("--b-per-consumer") { Description = "fixed parallelism of each of B's consumers (default: per-consumer)" };
        var dMax = new Option<int?>("--d-max-concurrency") { Description = "Worker:MaxConcurrency of D's silos, every scenario (default 16; 64 in gpu; 256 in vllm and vllm-plain; in api the fixed limit of each silo and its simulator's slots, 32)" };
        var seed = new Option<int?>("--seed") { Description = "seed of the random load balancer (default 42)" };
        var overhead = new Option<int?>("--overhead") { Description = "items of the overhead scenario's batch, and run it (default: 20,000 when the scenario is listed)" };
        var overheadRedis = new Option<string?>("--overhead-redis") { Description = "where the overhead scenario runs: single, cluster (3 masters, Queue:Shards 3), or both (default: single)" };
        var baseline = new Option<string?>("--baseline") { Description = "a checkout of another commit, built with 'dotnet build -c Release': the overhead scenario measures its silo and CLI too, alternating" };
        var repeat = new Option<int?>("--repeat") { Description = "rounds of the overhead scenario, each baseline then current (default 1)" };

        var root = new RootCommand("Compares four designs for feeding Ollama backends from a Redis list: makespan, utilisation, queue waits, losses.")
        {
            smoke, items, scenario, designs, output, timeScale, perConsumer, serverPerConsumer, aParallelism, bPerConsumer, dMax, seed, overhead, overheadRedis, baseline, repeat,
        };
        root.SetAction((parse, ct) =>
        {
            var isSmoke = parse.GetValue(smoke);
            var defaults = isSmoke ? SmokeDefaults : new BenchmarkOptions();
            var options = defaults with
            {
                Items = parse.GetValue(items) ?? defaults.Items,
                ItemsSet = defaults.ItemsSet || parse.GetValue(items) is not null,
                TimeScaleSet = defaults.TimeScaleSet || parse.GetValue(timeScale) is not null,
                DMaxConcurrencySet = parse.GetValue(dMax) is not null,
                // The whole data set is D with more items, nothing a smoke run would add to; the API's cycle has its tests.
                Scenarios = WithOverhead(
                    Split(parse.GetValue(scenario)) ?? (isSmoke ? Scenario.Names.Where(n => n != Scenario.Full.Name && n != Scenario.Million.Name && n != Scenario.Api.Name && n != Scenario.Overhead.Name).ToArray() : Scenario.Names),
                    parse.GetValue(overhead) is not null),
                Designs = Split(parse.GetValue(designs))?.Select(d => d.ToUpperInvariant()).ToArray() ?? DesignCatalog.Ids,
                Out = parse.GetValue(output) ?? (isSmoke ? null : Path.Combine("docs", "benchmarks.md")),
                TimeScale = parse.GetValue(timeScale) ?? defaults.TimeScale,
                PerConsumer = parse.GetValue(perConsumer) ?? defaults.PerConsumer,
                ServerPerConsumer = parse.GetValue(serverPerConsumer),
                AParallelism = parse.GetValue(aParallelism),
                BPerConsumer = parse.GetValue(bPerConsumer),
                DMaxConcurrency = parse.GetValue(dMax) ?? defaults.DMaxConcurrency,
                Seed = parse.GetValue(seed) ?? defaults.Seed,
                OverheadItems = parse.GetValue(overhead),
                OverheadRedis = Split(parse.GetValue(overheadRedis)) ?? [SingleRedis],
                Baseline = parse.GetValue(baseline),
                Repeat = parse.GetValue(repeat) ?? 1,
                Command = CommandLine(parse.Tokens.Select(t => t.Value)),
            };
            if (options.Validate() is { } error)
            {
                Console.Error.WriteLine($"error: {error}");
                return Task.FromResult(2);
            }

            return run(options, ct);
        });
        return root;
    }

    /// <returns>Null when the options are usable, else what is wrong.</returns>
    public string? Validate()
    {
        if (Items < 2 || Items > Workload.AllRows)
        {
            return $"--items must be between 2 and {Workload.AllRows:N0} (the rows of data/worldcities.csv)";
        }

        if (Scenarios.Count == 0 || Scenarios.Any(s => !Scenario.Names.Contains(s)))
        {
            return $"--scenario must list some of {string.Join(", ", Scenario.Names)}";
        }

        if (Designs.Count == 0 || Designs.Any(d => !DesignCatalog.Ids.Contains(d)))
        {
            return "--designs must list some of A,B,C,D";
        }

        if (!(TimeScale > 0 && double.IsFinite(TimeScale)))
        {
            return "--time-scale must be > 0 (0 would make the simulated work vanish)";
        }

        if (OverheadItems is < 2 or > Workload.AllRows)
        {
            return $"--overhead must be between 2 and {Workload.AllRows:N0} (the rows of data/worldcities.csv)";
        }

        if (OverheadRedis.Count == 0 || OverheadRedis.Any(r => r is not (SingleRedis or ClusterRedis)))
        {
            return $"--overhead-redis must list some of {SingleRedis}, {ClusterRedis}";
        }

        if (Repeat < 1)
        {
            return "--repeat must be at least 1";
        }

        if (Baseline is { } checkout && !File.Exists(Path.Combine(checkout, "OrleansLlm.sln")))
        {
            return $"--baseline {checkout}: not a checkout of OrleansLlm (no OrleansLlm.sln there)";
        }

        if (Baseline is not null && BuiltBaseline() is { } unbuilt)
        {
            return unbuilt;
        }

        if (PerConsumer < 1 || ServerPerConsumer is < 1 || AParallelism is < 1 || BPerConsumer is < 1 || DMaxConcurrency < 1)
        {
            return "parallelism settings must be at least 1";
        }

        return null;
    }

    /// <returns>Null when this checkout's and the baseline's silo and CLI are built, else which is missing.</returns>
    private string? BuiltBaseline()
    {
        try
        {
            _ = Infrastructure.SiloBuild.Baseline(Baseline!);
            return null;
        }
        catch (FileNotFoundException ex)
        {
            return ex.Message;
        }
    }

    // --overhead N asks for the overhead scenario, whatever --scenario lists.
    private static IReadOnlyList<string> WithOverhead(IReadOnlyList<string> scenarios, bool overhead) =>
        overhead && !scenarios.Contains(Scenario.Overhead.Name) ? [.. scenarios, Scenario.Overhead.Name] : scenarios;

    private static string[]? Split(string? list) =>
        list?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is { Length: > 0 } parts ? parts : null;

    private static string CommandLine(IEnumerable<string> args)
    {
        var configuration = typeof(BenchmarkOptions).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().FirstOrDefault()?.Configuration ?? "Release";
        var quoted = args.Select(a => a.Length > 0 && a.All(c => char.IsLetterOrDigit(c) || "-_.,/=:".Contains(c)) ? a : $"'{a.Replace("'", "'\\''")}'");
        var rest = string.Join(' ', quoted);
        return $"dotnet run -c {configuration} --project tests/OrleansLlm.Benchmarks{(rest.Length > 0 ? " -- " + rest : "")}";
    }
}
