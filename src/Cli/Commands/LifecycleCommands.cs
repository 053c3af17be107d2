using System.CommandLine;

namespace OrleansLlm.Cli.Commands;

/// <summary><c>cancel BATCH</c>, <c>retry BATCH</c> and <c>delete BATCH</c>: stop a batch, give its dead letters another go, or remove it.</summary>
public static class LifecycleCommands
{
    public static Command Cancel()
    {
        var batch = new Argument<string>("BATCH") { Description = "batch id" };
        var command = new Command("cancel", "Cancel a batch: its queued items are removed at once; items in flight finish and keep their results") { batch };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            var id = parse.GetValue(batch)!;
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var grain = cluster.Client.GetGrain<IBatchGrain>(id);
            await RequireAsync(grain, id, ct);
            var progress = await grain.CancelAsync(ct);
            StatusCommand.Print(progress);
            Console.Error.WriteLine(progress.Status == BatchStates.Cancelling
                ? $"batch {id} cancelling: {progress.Removed} queued items removed; {progress.InFlight} in flight finish and keep their results"
                : $"batch {id} cancelled: {progress.Removed} queued items removed, {progress.Done} results kept");
        }));
        return command;
    }

    public static Command Retry()
    {
        var batch = new Argument<string>("BATCH") { Description = "batch id" };
        var command = new Command("retry", "Put a batch's dead-lettered items back in the queue with fresh attempts (see 'orleansllm dead BATCH')") { batch };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            var id = parse.GetValue(batch)!;
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var grain = cluster.Client.GetGrain<IBatchGrain>(id);
            await RequireAsync(grain, id, ct);
            var retry = await grain.RetryAsync(ct);
            Console.Error.WriteLine($"batch {id}: {retry.Retried} dead-lettered item{(retry.Retried == 1 ? string.Empty : "s")} back in the queue with fresh attempts" +
                                    (retry.TooLarge > 0 ? $"; {retry.TooLarge} stay dead-lettered (their item was cut short in the dead letter)" : string.Empty));
            StatusCommand.Print(await grain.GetProgressAsync(ct));
        }));
        return command;
    }

    public static Command Delete()
    {
        var batch = new Argument<string>("BATCH") { Description = "batch id" };
        var command = new Command(
            "delete",
            "Delete a batch now, with its results and dead letters (a running one is cancelled first); else it goes Queue:ResultTtl after it ends") { batch };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            var id = parse.GetValue(batch)!;
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var grain = cluster.Client.GetGrain<IBatchGrain>(id);
            await RequireAsync(grain, id, ct);
            Console.Error.WriteLine(await grain.DeleteAsync(ct)
                ? $"batch {id} deleted: its spec, items, results and dead letters are gone"
                : $"batch {id} cancelled and deleting: its queued items are removed; it goes when its items in flight end");
        }));
        return command;
    }

    private static async Task RequireAsync(IBatchGrain grain, string id, CancellationToken ct)
    {
        if (id == BatchIds.Default || !(await grain.GetProgressAsync(ct)).Exists)
        {
            throw new CliException(id == BatchIds.Default
                ? $"the raw items' batch {BatchIds.Default} has no known items to cancel, retry or delete"
                : $"no batch {id} (see 'orleansllm status' for the recent ones)");
        }
    }
}
