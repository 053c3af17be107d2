using System.CommandLine;
using OrleansLlm.Client;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Cli.Commands;

/// <summary><c>dead [BATCH]</c>: the dead letters, as a table or JSON Lines, without redis-cli.</summary>
public static class DeadCommand
{
    public static Command Create()
    {
        var batch = new Argument<string?>("BATCH") { Description = "batch id; without it, every dead letter of the queue", Arity = ArgumentArity.ZeroOrOne };
        var format = CliOptions.OneOf("--format", "output format", DeadLetterWriter.Formats);
        var command = new Command("dead", "List dead letters: when, batch, item id and city, attempts, silo, reason") { batch, format };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            var id = parse.GetValue(batch);
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            if (id is not null && !(await cluster.Client.GetGrain<IBatchGrain>(id).GetProgressAsync(ct)).Exists)
            {
                throw new CliException($"no batch {id} (see 'orleansllm status' for the recent ones)");
            }

            var deadLetters = DeadLetters.ReadAsync(cluster.Client.GetGrain<IQueueGrain>(0), id, ct);
            var count = await DeadLetterWriter.WriteAsync(deadLetters, parse.GetValue(format)!, Console.Out, ct);
            Console.Error.WriteLine($"{count} dead letter{(count == 1 ? string.Empty : "s")}{(id is null ? string.Empty : $" in batch {id}")}");
        }));
        return command;
    }
}
