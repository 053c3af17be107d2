using CsCheck;

namespace OrleansLlm.QueueModel;

/// <summary>
/// Runs random operation sequences (<see cref="Ops"/>) against the real queue and the model (<see cref="World"/>):
/// a fresh queue for each, every invariant checked after every step. Sequence <c>i</c> is drawn from CsCheck's PCG
/// seeded with <c>i</c>, so a run of N seeds is the same everywhere. On a failure CsCheck shrinks it to the shortest
/// failing sequence it can find, which is reported with the seed that replays it (<c>--seed</c>).
/// </summary>
public static class ModelRun
{
    /// <summary>How long shrinking a failure may take.</summary>
    private static readonly TimeSpan ShrinkFor = TimeSpan.FromMinutes(2);

    /// <param name="connectionString">A redis-server of its own: every sequence uses a queue of its own on it.</param>
    /// <param name="seeds">Sequences 1..seeds.</param>
    /// <param name="steps">The most steps in one sequence.</param>
    /// <param name="groups">Whether answers also go in groups (<see cref="Op.CompleteGroup"/>): other sequences for the same seeds.</param>
    /// <returns>How many steps were run in all, with their invariant checks.</returns>
    /// <exception cref="ModelViolation">The shortest failing sequence found, its seed and what broke.</exception>
    public static async Task<long> RunAsync(string connectionString, int seeds, int steps, Action<string> log, bool groups = false)
    {
        var total = 0L;
        var runs = Ops.Runs(steps, groups);
        for (ulong i = 1; i <= (ulong)seeds; i++)
        {
            var pcg = new PCG(1, i);
            var seed = pcg.ToString();
            var ops = runs.Generate(pcg, null, out _);
            if (await FailureAsync(connectionString, ops) is { } failure)
            {
                log($"seed {seed} fails: {failure}");
                throw new ModelViolation($"seed {seed} ({i} of {seeds}) fails; shortest failing sequence: {await ShrinkAsync(connectionString, steps, seed, log, groups)}");
            }

            total += ops.Length;
        }

        return total;
    }

    /// <summary>Replays <paramref name="seed"/>, then lets CsCheck look for the shortest sequence that still fails.</summary>
    public static async Task<string> ShrinkAsync(string connectionString, int steps, string seed, Action<string> log, bool groups = false)
    {
        try
        {
            await Ops.Runs(steps, groups).SampleAsync(
                async ops => await FailureAsync(connectionString, ops) is null,
                writeLine: log,
                seed: seed,
                time: (int)ShrinkFor.TotalSeconds,
                threads: 1,
                print: Print);
            return $"seed {seed} did not fail again";
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return ex.Message;
        }
    }

    /// <summary>Runs the sequence one CsCheck seed draws, as a regression test keeps a seed that once failed.</summary>
    /// <returns>What broke, with the steps up to it; null when every invariant held.</returns>
    public static Task<string?> ReplayAsync(string connectionString, string seed, int steps, bool groups = false) =>
        FailureAsync(connectionString, Ops.Runs(steps, groups).Generate(PCG.Parse(seed), null, out _));

    /// <returns>What broke, with the steps up to it; null when every invariant held.</returns>
    public static async Task<string?> FailureAsync(string connectionString, Op[] ops)
    {
        await using var world = await World.StartAsync(connectionString);
        try
        {
            foreach (var op in ops)
            {
                await world.StepAsync(op);
            }

            return null;
        }
        catch (Exception ex) when (ex is ModelViolation or StackExchange.Redis.RedisException)
        {
            return $"{ex.Message}\n  {string.Join("\n  ", world.Trace)}";
        }
    }

    public static string Print(Op[] ops) => string.Join(", ", ops.Select(o => o.ToString()));
}
