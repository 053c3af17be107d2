using System.Diagnostics;
using OrleansLlm.Benchmarks;
using OrleansLlm.Benchmarks.Designs;
using OrleansLlm.Benchmarks.Infrastructure;

// dotnet run -c Release --project tests/OrleansLlm.Benchmarks -- [--smoke] [--items N] [--scenario NAME] [--designs A,B,C,D] [--overhead N]
//   [--overhead-redis single,cluster] [--baseline DIR] [--repeat N] [--out docs/benchmarks.md]
// Tables go to stdout, progress and per-run details to stderr.
// On Ctrl+C the run is cancelled and cleans up (cluster, simulators, redis-server); give it time to do so before the process is ended.
return await BenchmarkOptions.BuildCommand(RunAsync).Parse(args).InvokeAsync(
    new System.CommandLine.InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(60) });

static async Task<int> RunAsync(BenchmarkOptions options, CancellationToken interrupted)
{
    // Ctrl+C cancels `interrupted`; SIGTERM (a CI job's timeout, say) must clean up the same way, not kill us outright.
    using var stop = CancellationTokenSource.CreateLinkedTokenSource(interrupted);
    using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, signal =>
    {
        signal.Cancel = true;
        stop.Cancel();
    });
    var cancellationToken = stop.Token;

    // The simulators' hosts log to the console (stdout) and can't be configured from outside: send everything
    // written to Console.Out during the runs to stderr, and keep the real stdout for the tables.
    var stdout = Console.Out;
    Console.SetOut(Console.Error);
    var log = Console.Error;
    var clock = Stopwatch.StartNew();
    var scenarios = options.Scenarios.Select(Scenario.Named).ToArray();
    var workload = await Workload.LoadAsync(scenarios.Max(s => s.Apply(options).Items), cancellationToken);
    var load = MachineInfo.LoadAverage();
    log.WriteLine($"benchmark: scenarios {string.Join(",", options.Scenarios)}, designs {string.Join(",", options.Designs)}, load average {load}");

    var results = new List<RunResult>();
    var scales = new List<ScaleResult>();
    var overheads = new List<OverheadResult>();
    var queueCosts = new List<QueueCostResult>();
    var millions = new List<MillionResult>();
    var apis = new List<ApiResult>();
    try
    {
        await using var redis = await RedisProcess.StartAsync(cancellationToken: cancellationToken);
        foreach (var scenario in scenarios)
        {
            var scenarioOptions = scenario.Apply(options);
            var items = workload.Take(scenarioOptions.Items);
            log.WriteLine($"benchmark: {scenario.Name}: {items.Count} items, {items.TotalSoloSeconds:0} solo seconds of work, time scale {scenarioOptions.TimeScale}");
            var designs = options.Designs.Where(d => scenario.Designs is null || scenario.Designs.Contains(d)).ToArray();
            if (scenario.Kind == ScenarioKind.Million)
            {
                if (designs.Length > 0)
                {
                    millions.Add(await new MillionRun(redis, items, scenarioOptions, log).RunAsync(cancellationToken));
                }

                continue;
            }

            if (scenario.Kind == ScenarioKind.Overhead)
            {
                if (designs.Length > 0)
                {
                    overheads.AddRange(await new Overhead(redis, items, scenarioOptions, log).RunAsync(cancellationToken));
                    // The same items through the queue's scripts alone, with nothing else on the machine: this build's.
                    queueCosts.AddRange(await new QueueCost(redis, items, log).RunAsync(cancellationToken));
                }

                continue;
            }

            if (scenario.Kind == ScenarioKind.Api)
            {
                if (designs.Length > 0)
                {
                    apis.Add(await new ApiRun(redis, items, scenarioOptions, log).RunAsync(scenario, cancellationToken));
                }

                continue;
            }

            if (scenario.Kind == ScenarioKind.Scale)
            {
                if (designs.Length > 0)
                {
                    scales.Add(await new ScaleRun(redis, items, scenarioOptions, log).RunAsync(scenario, cancellationToken));
                }

                continue;
            }

            var runner = new Runner(redis, items, scenarioOptions, log);
            foreach (var design in designs.Select(DesignCatalog.Create))
            {
                results.Add(await runner.RunAsync(scenario, design, cancellationToken));
            }

            // The best fixed setting, found in this run: C's consumers at each limit (C's own run counts for its own limit).
            // Beside OpenAI-compatible servers only their consumers sweep; those beside CPUs keep their own.
            // A smoke run tries one limit besides C's own, to keep under a minute.
            var sweep = (options.Designs.Contains("C") ? scenario.Sweep ?? [] : []).Where(l => !options.Smoke || l == scenario.Sweep![^1]);
            var servers = scenario.Backends.Any(b => b.OpenAi);
            foreach (var limit in sweep)
            {
                var c = results.FirstOrDefault(r => r.Scenario == scenario.Name && r.Design == "C" && r.FixedLimit is null);
                var run = c is not null && limit == (servers ? scenarioOptions.ServerPerConsumer ?? scenarioOptions.PerConsumer : scenarioOptions.PerConsumer)
                    ? c
                    : await new Runner(redis, items, servers ? scenarioOptions with { ServerPerConsumer = limit } : scenarioOptions with { PerConsumer = limit }, log)
                        .RunAsync(scenario, new CoLocatedConsumers(), cancellationToken);
                results.Add(run with { FixedLimit = limit });
            }
        }
    }
    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
    {
        // Everything started has been disposed on the way out (await using), redis-server included.
        log.WriteLine("benchmark: interrupted; nothing written");
        return 130;
    }

    var elapsed = clock.Elapsed;
    load = $"{load} at the start, {MachineInfo.LoadAverage()} at the end";
    stdout.WriteLine(Report.Goals(results, scales));
    stdout.WriteLine(Report.Tables(results, scales, options));
    stdout.WriteLine(OverheadReport.Section(overheads, queueCosts));
    stdout.WriteLine(Report.MillionSection(millions));
    stdout.WriteLine(Report.ApiSection(apis));
    if (Report.Headline(results) is { } headline)
    {
        stdout.WriteLine($"Whole data set: {headline}");
    }

    stdout.WriteLine($"Total time: {elapsed.TotalMinutes:0.0} min; load average {load}. Command: {options.Command}");

    if (options.Out is { } outFile)
    {
        var mdPath = Path.IsPathRooted(outFile) ? outFile : Path.Combine(Workload.RepoRoot(), outFile);
        var svgPath = Path.ChangeExtension(mdPath, ".svg");
        Directory.CreateDirectory(Path.GetDirectoryName(mdPath)!);
        // Sections written by hand after the marker (another issue's measurements, say) stay.
        var kept = File.Exists(mdPath) && (await File.ReadAllTextAsync(mdPath, CancellationToken.None)) is var old && old.IndexOf(Report.KeepBelowMarker, StringComparison.Ordinal) is var at and >= 0
            ? old[(at + Report.KeepBelowMarker.Length)..]
            : Environment.NewLine;
        await File.WriteAllTextAsync(svgPath, SvgChart.Render(results, scales), CancellationToken.None);
        await File.WriteAllTextAsync(mdPath, Report.Document(results, scales, overheads, queueCosts, millions, apis, workload, options, elapsed, load, Path.GetFileName(svgPath)).TrimEnd() + kept, CancellationToken.None);
        log.WriteLine($"wrote {mdPath} and {svgPath}");
    }

    var lost = results.Where(r => r.Lost > 0).ToArray();
    foreach (var r in lost)
    {
        log.WriteLine($"LOST: {r.Scenario}/{r.Design}{(r.FixedLimit is { } p ? $"×{p}" : "")} lost {r.Lost} of {r.Items} items{(r.Error is null ? "" : $" ({r.Error})")}");
    }

    foreach (var s in scales.Where(s => s.Lost > 0 || s.DeadLettered > 0))
    {
        log.WriteLine($"LOST: scale/D lost {s.Lost} of {s.Items} items, {s.DeadLettered} dead-lettered{(s.Error is null ? "" : $" ({s.Error})")}");
    }

    foreach (var a in apis.Where(a => a.Failed))
    {
        log.WriteLine($"LOST: api: {a.Missing} of {a.Lines} custom_ids missing, {a.Duplicated} duplicated, {a.NotOk} not 200{(a.Error is null ? "" : $" ({a.Error})")}");
    }

    foreach (var o in overheads.Where(o => o.Failed))
    {
        log.WriteLine($"LOST: overhead/{o.Redis}/{o.Build}: {o.Missing} of {o.Items} items missing, {o.Duplicated} duplicated, {o.ExtraCalls} extra Ollama calls{(o.Error is null ? "" : $" ({o.Error})")}");
    }

    return lost.Length == 0 && scales.All(s => s.Lost == 0 && s.DeadLettered == 0) && apis.All(a => !a.Failed) && overheads.All(o => !o.Failed) ? 0 : 1;
}
