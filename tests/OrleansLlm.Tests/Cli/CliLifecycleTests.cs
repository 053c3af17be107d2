using System.Text.RegularExpressions;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Cli;

/// <summary><c>cancel</c>, <c>retry</c> and <c>delete</c> on live batches, through the real CLI and the real silo.</summary>
[Collection(CliClusterCollection.Name)]
[Trait("Category", "Process")]
public sealed partial class CliLifecycleTests(CliCluster cluster, ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-cli-").FullName;

    [Fact]
    public async Task Cancel_OnARunningBatch_RemovesWhatIsQueued_AndWhatWasInFlightFinishesWithItsResult()
    {
        var file = Write("cities.csv", File.ReadLines(Cities.DataFile).Take(301));
        var batch = NewBatchId();
        // A slow backend, so most of the batch is still queued when the cancel comes.
        cluster.Simulator.SetSpeed(0.02);
        try
        {
            var submit = await cluster.RunAsync("submit", file, "--batch", batch, "--priority", "high");
            Assert.True(submit.ExitCode == 0, submit.ToString());

            var cancel = await cluster.RunAsync("cancel", batch);

            output.WriteLine(cancel.ToString());
            Assert.True(cancel.ExitCode == 0, cancel.ToString());
            var line = StatusLine().Match(cancel.Stdout);
            Assert.True(line.Success, cancel.Stdout);
            Assert.Equal(batch, line.Groups["batch"].Value);
            Assert.Equal("high", line.Groups["priority"].Value);
            Assert.True(int.Parse(line.Groups["removed"].Value) > 200, $"only {line.Groups["removed"].Value} of 300 were still queued");
            Assert.Equal(300, Figures(line).Sum());
            Assert.Matches($@"^batch {batch} (cancelling: \d+ queued items removed; \d+ in flight finish and keep their results|cancelled: \d+ queued items removed, \d+ results kept)$", Assert.Single(cancel.StderrLines));

            // The items in flight finish; then the batch is cancelled, every item counted, each result kept.
            string status = string.Empty;
            await Eventually.TrueAsync(async () => (status = (await cluster.RunAsync("status", batch)).Stdout).StartsWith($"{batch}: cancelled,", StringComparison.Ordinal), "the batch to be cancelled", describe: () => Task.FromResult(status));
            output.WriteLine(status);
            var final = StatusLine().Match(status);
            Assert.Equal((0, 0), (int.Parse(final.Groups["queued"].Value), int.Parse(final.Groups["inflight"].Value)));
            Assert.Equal(300, Figures(final).Sum());
            Assert.Equal(int.Parse(final.Groups["done"].Value), await cluster.Db.HashLengthAsync(cluster.Keys.Results(batch)));
            Assert.Equal(int.Parse(line.Groups["removed"].Value), int.Parse(final.Groups["removed"].Value));
        }
        finally
        {
            cluster.Simulator.SetSpeed(1);
        }

        var again = await cluster.RunAsync("submit", file, "--batch", batch, "--priority", "high");
        Assert.Equal((1, $"error: Batch {batch} is cancelled; it takes no more items."), (again.ExitCode, again.StderrLines[^1]));
    }

    [Fact]
    public async Task Retry_PutsABatchsDeadLettersBack_AndTheyComplete()
    {
        var file = Write("cities.csv", ["city,country,id", "Lima,Peru,l1", "Zzyzx,États-Unis,z1", "Zzyzx Springs,États-Unis,z2", "Quito,Ecuador,q1"]);
        var batch = NewBatchId();
        cluster.Simulator.UpdateFaults(f => f with { FailPromptContains = "Zzyzx" });
        try
        {
            var submit = await cluster.RunAsync("submit", file, "--batch", batch, "--wait");
            Assert.Contains($"batch {batch} complete: 2 results, 2 dead-lettered", submit.Stderr);
        }
        finally
        {
            cluster.Simulator.UpdateFaults(f => f with { FailPromptContains = null });
        }

        var retry = await cluster.RunAsync("retry", batch);

        output.WriteLine(retry.ToString());
        Assert.True(retry.ExitCode == 0, retry.ToString());
        Assert.Equal($"batch {batch}: 2 dead-lettered items back in the queue with fresh attempts", retry.StderrLines[0]);
        Assert.StartsWith($"{batch}: ", retry.Stdout);
        string status = string.Empty;
        await Eventually.TrueAsync(async () => (status = (await cluster.RunAsync("status", batch)).Stdout).StartsWith($"{batch}: completed,", StringComparison.Ordinal), "the retried items to complete", describe: () => Task.FromResult(status));
        Assert.Contains("total 4, queued 0, in flight 0, done 4, dead-lettered 0", status);
        Assert.Equal(4, await cluster.Db.HashLengthAsync(cluster.Keys.Results(batch)));
        var dead = await cluster.RunAsync("dead", batch);
        Assert.Equal($"0 dead letters in batch {batch}", Assert.Single(dead.StderrLines));
        var nothing = await cluster.RunAsync("retry", batch);
        Assert.Equal($"batch {batch}: 0 dead-lettered items back in the queue with fresh attempts", nothing.StderrLines[0]);
    }

    [Fact]
    public async Task Deadline_ExpiresWhatIsStillQueued_WhenTheWindowCloses()
    {
        var file = Write("cities.csv", File.ReadLines(Cities.DataFile).Take(301));
        var batch = NewBatchId();
        cluster.Simulator.SetSpeed(0.02);
        try
        {
            // Long enough for two CLI processes to start and end before it closes, on a machine loaded by two other
            // test lanes (3 s was not: the batch had expired before 'status' ran).
            var submit = await cluster.RunAsync("submit", file, "--batch", batch, "--deadline", "10s");
            Assert.True(submit.ExitCode == 0, submit.ToString());
            var running = await cluster.RunAsync("status", batch);
            Assert.Matches($@"^{batch}: in_progress, priority normal, deadline \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\dZ; total 300, ", running.Stdout);

            // The silos' sweep (every 2 s) expires the batch once the window has closed.
            string status = string.Empty;
            await Eventually.TrueAsync(
                async () => (status = (await cluster.RunAsync("status", batch)).Stdout).Contains("in flight 0,", StringComparison.Ordinal) && status.StartsWith($"{batch}: expired,", StringComparison.Ordinal),
                "the batch to expire", TimeSpan.FromSeconds(30), () => Task.FromResult(status));
            output.WriteLine(status);
            var final = ExpiredLine().Match(status);
            Assert.True(final.Success, status);
            Assert.Equal(0, int.Parse(final.Groups["queued"].Value));
            Assert.True(int.Parse(final.Groups["removed"].Value) > 100, status);
            Assert.Equal(300, new[] { "done", "dead", "removed" }.Sum(g => int.Parse(final.Groups[g].Value)));
        }
        finally
        {
            cluster.Simulator.SetSpeed(1);
        }

        var zero = await cluster.RunAsync("submit", file, "--deadline", "0");
        Assert.Equal((2, "error: --deadline: '0' is not a duration (e.g. 10, 2.5s, 500ms, 1m, 2h) (see 'orleansllm submit --help')"), (zero.ExitCode, Assert.Single(zero.StderrLines)));
    }

    [Fact]
    public async Task Delete_OfACompletedBatch_RemovesItsResultsAndDeadLettersNow()
    {
        var file = Write("cities.csv", ["city,country,id", "Lima,Peru,l1", "Zzyzx,États-Unis,z1", "Quito,Ecuador,q1"]);
        var batch = NewBatchId();
        var submit = await cluster.RunAsync("submit", file, "--batch", batch, "--wait", "--prompt", "Who is the mayor of {city}?");
        Assert.True(submit.ExitCode == 0, submit.ToString());

        var delete = await cluster.RunAsync("delete", batch);

        output.WriteLine(delete.ToString());
        Assert.Equal((0, $"batch {batch} deleted: its spec, items, results and dead letters are gone"), (delete.ExitCode, Assert.Single(delete.StderrLines)));
        Assert.True(await cluster.NothingSubmittedAsync(batch));
        Assert.All(cluster.Keys.OfBatch(batch), key => Assert.False(cluster.Db.KeyExists(key), key));
        var status = await cluster.RunAsync("status", batch);
        Assert.NotEqual(0, status.ExitCode);
    }

    [Fact]
    public async Task CancelRetryAndDelete_OfAnUnknownBatch_AreOneLineErrors()
    {
        var cancel = await cluster.RunAsync("cancel", "no-such-batch");
        var retry = await cluster.RunAsync("retry", "no-such-batch");
        var delete = await cluster.RunAsync("delete", "no-such-batch");

        Assert.Equal((1, "error: no batch no-such-batch (see 'orleansllm status' for the recent ones)"), (cancel.ExitCode, Assert.Single(cancel.StderrLines)));
        Assert.Equal((1, "error: no batch no-such-batch (see 'orleansllm status' for the recent ones)"), (retry.ExitCode, Assert.Single(retry.StderrLines)));
        Assert.Equal((1, "error: no batch no-such-batch (see 'orleansllm status' for the recent ones)"), (delete.ExitCode, Assert.Single(delete.StderrLines)));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int[] Figures(Match line) =>
        new[] { "queued", "inflight", "done", "dead", "removed" }.Select(g => int.Parse(line.Groups[g].Value)).ToArray();

    [GeneratedRegex(@"^(?<batch>\S+): (?<status>\w+), priority (?<priority>\w+); total 300, queued (?<queued>\d+), in flight (?<inflight>\d+), done (?<done>\d+), dead-lettered (?<dead>\d+), cancelled (?<removed>\d+)$", RegexOptions.Multiline)]
    private static partial Regex StatusLine();

    [GeneratedRegex(@"^\S+: expired, priority normal; total 300, queued (?<queued>\d+), in flight 0, done (?<done>\d+), dead-lettered (?<dead>\d+), expired (?<removed>\d+)$", RegexOptions.Multiline)]
    private static partial Regex ExpiredLine();

    private static string NewBatchId() => $"t-{Guid.NewGuid():N}"[..14];

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }
}
