using System.CommandLine;
using Microsoft.Extensions.Configuration;
using OrleansLlm.Cli.Output;
using OrleansLlm.Client;
using OrleansLlm.Client.Input;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Cli;

/// <summary>The <c>orleansllm</c> commands.</summary>
public static class Cli
{
    private static readonly Option<string?> RedisOption = new("--redis")
    {
        Description = "Redis connection string (default: Redis__ConnectionString, else localhost:6379)",
        Recursive = true,
    };

    public static RootCommand Build()
    {
        var root = new RootCommand("orleansllm: submit batches to an OrleansLlm cluster and follow them");
        root.Options.Add(RedisOption);
        // "orleansllm [diagram] ARGS" shows how ARGS parse without running anything (the deploy tests check the Jobs' arguments so).
        root.Directives.Add(new DiagramDirective());
        root.Subcommands.Add(SubmitCommand());
        root.Subcommands.Add(StatusCommand());
        root.Subcommands.Add(ResultsCommand());
        root.Subcommands.Add(ClusterCommand());
        root.Subcommands.Add(DrainCommand());
        return root;
    }

    private static Command SubmitCommand()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "CSV with a header row, JSON Lines (.jsonl), or an OpenAI batch file (custom_id, url, body per line)" };
        var minPopulation = new Option<double?>("--min-population") { Description = "only rows with at least this population" };
        var limit = new Option<int?>("--limit") { Description = "submit at most this many rows" };
        var prompt = new Option<string?>("--prompt") { Description = "prompt template with {field} placeholders (default: the silo's Prompt:Template)" };
        var field = new Option<string?>("--field") { Description = "result field for the answer (default: the silo's Prompt:AnswerField)" };
        var batchId = new Option<string?>("--batch") { Description = "batch id (default: a new one)" };
        var wait = new Option<bool>("--wait") { Description = "show progress until every item is done" };
        var command = new Command("submit", "Submit a batch from a CSV, JSONL or OpenAI batch file; prints the batch id")
        {
            file, minPopulation, limit, prompt, field, batchId, wait,
        };
        foreach (var option in BatchOptionsCli.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            var path = parse.GetValue(file)!.FullName;
            if (parse.GetValue(limit) is < 1)
            {
                throw new CliException("error: --limit must be at least 1", exitCode: 2);
            }

            if (parse.GetValue(field) is { } answerField && AnswerFields.Check(answerField) is { } fieldError)
            {
                throw new CliException($"error: --field {fieldError}", exitCode: 2);
            }

            ItemSourceResult source;
            BatchSpec spec;
            try
            {
                if (File.Exists(path) && OpenAiBatchReader.IsOpenAiBatch(path))
                {
                    var openAi = await BatchOptionsCli.ReadOpenAiAsync(
                        parse, path, parse.GetValue(prompt), parse.GetValue(minPopulation), parse.GetValue(limit), parse.GetValue(field), ct);
                    (source, spec) = (new ItemSourceResult(openAi.Items, openAi.Errors, openAi.Items.Count + openAi.Errors.Count), openAi.Spec);
                }
                else
                {
                    spec = BatchOptionsCli.Spec(parse, parse.GetValue(prompt), parse.GetValue(field));
                    source = await ItemSource.ReadAsync(path, new ItemFilter(parse.GetValue(minPopulation), parse.GetValue(limit)), ct);
                }
            }
            catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or UnauthorizedAccessException)
            {
                throw new CliException($"error: {ex.Message}");
            }

            if (source.Errors.Count > 0)
            {
                foreach (var error in source.Errors.Take(10))
                {
                    Console.Error.WriteLine($"error: {error}");
                }

                throw new CliException($"error: {source.Errors.Count} bad rows in {path}; nothing was submitted", exitCode: 2);
            }

            if (source.Items.Count == 0)
            {
                throw new CliException($"error: no rows of {path} pass the filters; nothing was submitted");
            }

            await using var cluster = await ClusterConnection.ConnectAsync(Settings(parse), ct);
            var submitter = new BatchSubmitter(cluster.Client);
            var id = parse.GetValue(batchId) ?? BatchIds.New(TimeProvider.System);
            var summary = await submitter.SubmitAsync(id, spec, source.Items, ct);
            Console.Out.WriteLine(summary.BatchId);
            Console.Error.WriteLine($"submitted {summary.Enqueued} items to batch {summary.BatchId}" +
                (summary.Enqueued < summary.Submitted ? $" ({summary.Submitted - summary.Enqueued} duplicate ids skipped)" : string.Empty));
            if (parse.GetValue(wait))
            {
                var view = new ProgressView(Console.Error, interactive: !Console.IsErrorRedirected);
                var final = await submitter.WaitAsync(summary.BatchId, TimeSpan.FromMilliseconds(500), view.Show, ct);
                view.Finish();
                Console.Error.WriteLine($"batch {final.BatchId} complete: {final.Done} results, {final.DeadLettered} dead-lettered");
            }
        }));
        return command;
    }

    private static Command StatusCommand()
    {
        var batch = new Argument<string?>("BATCH") { Description = "batch id; without it, the whole queue", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("status", "Show the progress of a batch, or of the whole queue") { batch };
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            await using var cluster = await ClusterConnection.ConnectAsync(Settings(parse), ct);
            var client = cluster.Client;
            if (parse.GetValue(batch) is { } id)
            {
                var progress = await client.GetGrain<IBatchGrain>(id).GetProgressAsync();
                Print(progress);
                // [formats] Tokens, Ollama time, tokens/s and the ETA at the cluster's current rate.
                var usage = await client.GetGrain<IBatchGrain>(id).GetUsageAsync();
                Console.WriteLine($"  {BatchEstimate.Of(progress, usage, await client.GetCoordinator().GetClusterAsync())}");
                return;
            }

            var overview = await client.GetGrain<IQueueGrain>(0).GetOverviewAsync();
            Console.WriteLine($"queue {overview.QueueName}: {overview.Ready} ready, {overview.InFlight} in flight, {overview.DeadLettered} dead-lettered");
            Print(await client.GetGrain<IBatchGrain>(BatchIds.Default).GetProgressAsync());
            foreach (var b in overview.RecentBatches)
            {
                Print(await client.GetGrain<IBatchGrain>(b).GetProgressAsync());
            }
        }));
        return command;

        static void Print(BatchProgress p)
        {
            if (!p.Exists)
            {
                throw new CliException($"error: no batch {p.BatchId}");
            }

            var state = p.IsComplete ? "complete" : p.Sealed ? "running" : p.Total is null ? "raw items" : "submitting";
            Console.WriteLine($"{p.BatchId}: {state}; total {p.Total?.ToString() ?? "-"}, queued {p.Queued?.ToString() ?? "-"}, " +
                              $"in flight {p.InFlight}, done {p.Done}, dead-lettered {p.DeadLettered}");
        }
    }

    private static Command ResultsCommand()
    {
        var batch = new Argument<string>("BATCH") { Description = "batch id; 'default' for raw items pushed straight into Redis" };
        var format = new Option<string>("--format") { Description = "jsonl, csv, table, or openai (an OpenAI batch output file)", DefaultValueFactory = _ => "jsonl" };
        format.AcceptOnlyFromAmong([.. ResultWriter.Formats, OpenAiResultWriter.Format]);
        var errors = new Option<bool>("--errors") { Description = "write the batch's dead-lettered items instead, as an OpenAI batch error file" };
        var outFile = new Option<FileInfo?>("--out") { Description = "write to this file instead of standard output" };
        var command = new Command("results", "Write a batch's results") { batch, format, errors, outFile };
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            await using var cluster = await ClusterConnection.ConnectAsync(Settings(parse), ct);
            var grain = cluster.Client.GetGrain<IBatchGrain>(parse.GetValue(batch)!);
            var path = parse.GetValue(outFile)?.FullName;
            await using var output = path is null ? Console.Out : new StreamWriter(path);
            var count = parse.GetValue(errors)
                ? await OpenAiErrorWriter.WriteAsync(DeadLetters.ReadAsync(cluster.Client.GetGrain<IQueueGrain>(0), parse.GetValue(batch)!, ct), output, ct)
                : parse.GetValue(format) == OpenAiResultWriter.Format
                    ? await OpenAiResultWriter.WriteAsync(BatchResults.ReadAsync(grain, ct), output, ct)
                    : await ResultWriter.WriteAsync(BatchResults.ReadAsync(grain, ct), parse.GetValue(format)!, output, ct);
            if (path is not null)
            {
                Console.Error.WriteLine($"wrote {count} {(parse.GetValue(errors) ? "errors" : "results")} to {path}");
            }
        }));
        return command;
    }

    private static Command ClusterCommand()
    {
        var command = new Command("cluster", "List the silos: state, in flight, concurrency limit, done, throughput");
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            await using var cluster = await ClusterConnection.ConnectAsync(Settings(parse), ct);
            var view = await cluster.Client.GetCoordinator().GetClusterAsync();
            Console.WriteLine($"{"SILO",-32} {"MEMBERSHIP",-12} {"WORKER",-9} {"IN FLIGHT",9} {"LIMIT",5} {"DONE",8} {"ITEMS/S",8} {"LAST SEEN",9}");
            foreach (var w in view.Workers)
            {
                var age = DateTimeOffset.UtcNow - w.LastReport;
                Console.WriteLine($"{w.Status.Silo,-32} {w.Membership,-12} {w.Status.State.ToString().ToLowerInvariant(),-9} " +
                                  $"{w.LeasesInRedis,9} {w.Status.ConcurrencyLimit,5} {w.Status.Completed,8} {w.Throughput,8:F1} {age.TotalSeconds,8:F0}s");
            }

            var q = view.Queue;
            Console.WriteLine($"queue {q.QueueName}: {q.Ready} ready, {q.InFlight} in flight, {q.DeadLettered} dead-lettered; " +
                              $"coordinator on {view.CoordinatorSilo}, {view.RecoveredLeases} leases recovered");
        }));
        return command;
    }

    private static Command DrainCommand()
    {
        var silo = new Argument<string>("SILO") { Description = "the silo's address, or any unique part of it, as 'cluster' lists it" };
        var command = new Command("drain", "Drain a silo: it stops leasing, finishes or hands back its items, and stops being ready") { silo };
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            await using var cluster = await ClusterConnection.ConnectAsync(Settings(parse), ct);
            var target = await cluster.Client.GetCoordinator().DrainAsync(parse.GetValue(silo)!);
            Console.WriteLine($"draining {target}; follow it with 'orleansllm cluster'");
        }));
        return command;
    }

    private static ClientSettings Settings(ParseResult parse) =>
        ClientSettings.From(new ConfigurationBuilder().AddEnvironmentVariables().Build(), parse.GetValue(RedisOption));

    private static async Task<int> RunAsync(Func<Task> action)
    {
        try
        {
            await action();
            return 0;
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return ex.ExitCode;
        }
        catch (ClusterUnavailableException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or TimeoutException)
        {
            // Grain calls surface the silo's validation errors here.
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
        catch (OrleansException ex)
        {
            // E.g. the silo we talked to went away mid-call: one line, not a stack trace; the command can be re-run.
            Console.Error.WriteLine($"error: the cluster call failed ({ex.GetType().Name}): {ex.Message.Split('\n')[0]}");
            return 1;
        }
    }
}
