using System.CommandLine;
using System.Diagnostics;
using OrleansLlm.QueueModel;
using OrleansLlm.Testing;

// dotnet run -c Release --project tests/OrleansLlm.QueueModel -- [--seeds 1000] [--steps 80] [--groups] [--seed SEED]
// Starts a redis-server of its own and runs sequences 1..seeds against the real queue and the model; a failure is
// shrunk to the shortest failing sequence, printed with the seed that replays it (--seed SEED).
var seeds = new Option<int>("--seeds") { Description = "how many sequences to run (seeds 1..N)", DefaultValueFactory = _ => 100 };
var steps = new Option<int>("--steps") { Description = "the most steps in one sequence", DefaultValueFactory = _ => 80 };
var seed = new Option<string?>("--seed") { Description = "replay one failing seed and shrink it" };
var groups = new Option<bool>("--groups") { Description = "answers also go in groups (one Complete call for several)" };
var command = new RootCommand("The queue's model-based test: random operations of three silos against the real scripts, every invariant checked after every step.")
{
    seeds, steps, seed, groups,
};
command.SetAction(async (parse, cancellationToken) =>
{
    await using var redis = await RedisProcess.StartAsync(cancellationToken: cancellationToken);
    var clock = Stopwatch.StartNew();
    if (parse.GetValue(seed) is { } replay)
    {
        // What broke in the seed itself first; shrinking may go on to shorter sequences of other seeds.
        Console.WriteLine(await ModelRun.ReplayAsync(redis.ConnectionString, replay, parse.GetValue(steps), parse.GetValue(groups)) ?? $"seed {replay} held every invariant");
        Console.WriteLine(await ModelRun.ShrinkAsync(redis.ConnectionString, parse.GetValue(steps), replay, Console.Error.WriteLine, parse.GetValue(groups)));
        return 1;
    }

    try
    {
        var total = await ModelRun.RunAsync(redis.ConnectionString, parse.GetValue(seeds), parse.GetValue(steps), Console.Error.WriteLine, parse.GetValue(groups));
        Console.WriteLine($"queue model: {parse.GetValue(seeds)} sequences, {total} steps, every invariant held after each; {clock.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }
    catch (ModelViolation ex)
    {
        Console.WriteLine($"queue model: FAILED after {clock.Elapsed.TotalSeconds:0.0} s\n{ex.Message}");
        return 1;
    }
});
return await command.Parse(args).InvokeAsync();
