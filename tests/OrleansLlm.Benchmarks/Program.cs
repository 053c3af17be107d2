using System.Diagnostics;
using OrleansLlm.Benchmarks;
using OrleansLlm.Benchmarks.Designs;
using OrleansLlm.Benchmarks.Infrastructure;

// dotnet run -c Release --project tests/OrleansLlm.Benchmarks -- [--smoke] [--items N] [--scenario NAME] [--designs A,B,C,D] [--overhead N] [--out docs/benchmarks.md]
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
    var workload = await Workload.LoadAsync(options.Items, cancellationToken);
    log.WriteLine($"benchmark: {workload.Count} items, {workload.TotalSoloSeconds:0} solo seconds of work, time scale {options.TimeScale}, " +
        $"scenarios {string.Join(",", options.Scenarios)}, designs {string.Join(",", options.Designs)}");

    var results = new List<RunResult>();
    var overheads = new List<OverheadResult>();
    try
    {
        await using var redis = await RedisProcess.StartAsync(cancellationToken: cancellationToken);
        var runner = new Runner(redis, workload, options, log);
        foreach (var scenario in options.Scenarios.Select(Scenario.Named))
        {
            foreach (var design in options.Designs.Select(DesignCatalog.Create))
            {
                results.Add(await runner.RunAsync(scenario, design, cancellationToken));
            }
        }

        if (options.OverheadItems > 0)
        {
            var overhead = new Overhead(redis, await Workload.LoadAsync(options.OverheadItems, cancellationToken), options, log);
            // A first pass only warms the JIT up (it ran 35% slower than the same pass repeated); its figures are dropped.
            await overhead.RunAsync(2, cancellationToken);
            foreach (var silos in new[] { 1, 2 })
            {
                overheads.Add(await overhead.RunAsync(silos, cancellationToken));
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
    stdout.WriteLine(Report.Tables(results, workload, options));
    stdout.WriteLine(Report.OverheadTable(overheads));
    stdout.WriteLine($"Total time: {elapsed.TotalMinutes:0.0} min. Command: {options.Command}");

    if (options.Out is { } outFile)
    {
        var mdPath = Path.IsPathRooted(outFile) ? outFile : Path.Combine(Workload.RepoRoot(), outFile);
        var svgPath = Path.ChangeExtension(mdPath, ".svg");
        Directory.CreateDirectory(Path.GetDirectoryName(mdPath)!);
        await File.WriteAllTextAsync(svgPath, SvgChart.Render(results), CancellationToken.None);
        await File.WriteAllTextAsync(mdPath, Report.Document(results, overheads, workload, options, elapsed, Path.GetFileName(svgPath)), CancellationToken.None);
        log.WriteLine($"wrote {mdPath} and {svgPath}");
    }

    var lost = results.Where(r => r.Lost > 0).ToArray();
    foreach (var r in lost)
    {
        log.WriteLine($"LOST: {r.Scenario}/{r.Design} lost {r.Lost} of {r.Items} items{(r.Error is null ? "" : $" ({r.Error})")}");
    }

    return lost.Length == 0 ? 0 : 1;
}
