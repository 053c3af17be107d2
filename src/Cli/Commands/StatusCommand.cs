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
                var progress = await client.GetGrain<IBatchGrain>(id).GetProgressAsync(ct);
                Print(progress);
                // Tokens, Ollama time, tokens/s and the ETA at the cluster's current rate.
                var usage = await client.GetGrain<IBatchGrain>(id).GetUsageAsync(ct);
                Console.WriteLine($"  {BatchEstimate.Of(progress, usage, await client.GetCoordinator().GetClusterAsync(ct))}");
                return;
            }

            var overview = await client.GetGrain<IQueueGrain>(0).GetOverviewAsync(ct);
            Console.WriteLine($"queue {overview.QueueName}: {overview.Ready} ready, {overview.InFlight} in flight, {overview.DeadLettered} dead-lettered");
            Print(await client.GetGrain<IBatchGrain>(BatchIds.Default).GetProgressAsync(ct));
            foreach (var b in overview.RecentBatches)
            {
                Print(await client.GetGrain<IBatchGrain>(b).GetProgressAsync(ct));
            }
        }));
        return command;
    }

    internal static void Print(BatchProgress p)
    {
        if (!p.Exists)
        {
            throw new CliException($"no batch {p.BatchId} (see 'orleansllm status' for the recent ones)");
        }

        if (p.Total is null)
        {
            Console.WriteLine($"{p.BatchId}: raw items; total -, queued -, in flight {p.InFlight}, done {p.Done}, dead-lettered {p.DeadLettered}");
            return;
        }

        var removed = p.Removed > 0 || p.Status is BatchStates.Cancelling or BatchStates.Cancelled or BatchStates.Expired
            ? $", {(p.Status == BatchStates.Expired ? "expired" : "cancelled")} {p.Removed}"
            : string.Empty;
        var deadline = p.Deadline is { } at && p.Status is BatchStates.Validating or BatchStates.InProgress
            ? $", deadline {at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z"
            : string.Empty;
        var waiting = p.WaitingForModel is { } model ? $", waiting: no silo serves model {model}" : string.Empty;
        // An API batch's tenant; a batch the CLI submitted has none, and shows none.
        var tenant = p.Tenant is { } owner ? $", tenant {owner}" : string.Empty;
        Console.WriteLine($"{p.BatchId}: {p.Status}{tenant}, priority {BatchPriorities.Name(p.Priority)}{deadline}{waiting}; total {p.Total}, queued {p.Queued}, " +
                          $"in flight {p.InFlight}, done {p.Done}, dead-lettered {p.DeadLettered}{removed}");
    }
}
