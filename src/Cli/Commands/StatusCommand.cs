using System.CommandLine;
using OrleansLlm.Client;

namespace OrleansLlm.Cli.Commands;

/// <summary><c>status [BATCH]</c>: a batch's figures, or the whole queue's and the recent batches'.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var batch = new Argument<string?>("BATCH") { Description = "batch id; without it, the whole queue", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("status", "Show the progress of a batch, or of the whole queue") { batch };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var client = cluster.Client;
            if (parse.GetValue(batch) is { } id)
            {
                var progress = await client.GetGrain<IBatchGrain>(id).GetProgressAsync().WaitAsync(ct);
                Print(progress);
                // Tokens, Ollama time, tokens/s and the ETA at the cluster's current rate.
                var usage = await client.GetGrain<IBatchGrain>(id).GetUsageAsync().WaitAsync(ct);
                Console.WriteLine($"  {BatchEstimate.Of(progress, usage, await client.GetCoordinator().GetClusterAsync().WaitAsync(ct))}");
                return;
            }

            var overview = await client.GetGrain<IQueueGrain>(0).GetOverviewAsync().WaitAsync(ct);
            Console.WriteLine($"queue {overview.QueueName}: {overview.Ready} ready, {overview.InFlight} in flight, {overview.DeadLettered} dead-lettered");
            Print(await client.GetGrain<IBatchGrain>(BatchIds.Default).GetProgressAsync().WaitAsync(ct));
            foreach (var b in overview.RecentBatches)
            {
                Print(await client.GetGrain<IBatchGrain>(b).GetProgressAsync().WaitAsync(ct));
            }
        }));
        return command;
    }

    private static void Print(BatchProgress p)
    {
        if (!p.Exists)
        {
            throw new CliException($"no batch {p.BatchId} (see 'orleansllm status' for the recent ones)");
        }

        var state = p.IsComplete ? "complete" : p.Sealed ? "running" : p.Total is null ? "raw items" : "submitting";
        var priority = p.Total is null ? string.Empty : $", priority {BatchPriorities.Name(p.Priority)}";
        Console.WriteLine($"{p.BatchId}: {state}{priority}; total {p.Total?.ToString() ?? "-"}, queued {p.Queued?.ToString() ?? "-"}, " +
                          $"in flight {p.InFlight}, done {p.Done}, dead-lettered {p.DeadLettered}");
    }
}
