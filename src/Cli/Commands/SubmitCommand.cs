using System.CommandLine;
using System.Globalization;
using OrleansLlm.Client;
using OrleansLlm.Client.Input;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Cli.Commands;

/// <summary>
/// <c>submit FILE</c>: reads and checks the whole file against what the batch needs before anything is sent, then
/// reads it again as it streams it to a new batch in chunks, and says what came of every row: submitted, skipped by
/// the filter, rejected. Neither pass holds the file.
/// </summary>
public static class SubmitCommand
{
    private const int ErrorsShown = 5;

    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "CSV with a header row (',', ';' or tab), JSON Lines (.jsonl), or an OpenAI batch file (custom_id, url, body per line)" };
        var minPopulation = CliOptions.Number("--min-population", "only rows with at least this population", min: 0);
        var limit = CliOptions.Count("--limit", "submit at most this many rows", min: 1);
        var prompt = CliOptions.Text("--prompt", "prompt template with {field} placeholders (default: the silo's Prompt:Template)", CheckPrompt);
        var field = CliOptions.Text("--field", "result field for the answer (default: the silo's Prompt:AnswerField)", AnswerFields.Check);
        var batchId = CliOptions.Text("--batch", "batch id (default: a new one)", CheckBatchId);
        var id = CliOptions.Text("--id", "field holding each row's id (default: 'id' when there is one, else a hash of the row)", CheckFieldName);
        var delimiter = CliOptions.Delimiter("--delimiter", "CSV delimiter: one character, or 'tab' (default: detected from the header: ',', ';' or tab)");
        var wait = new Option<bool>("--wait") { Description = "show progress until every item is done" };
        var deadline = CliOptions.Duration("--deadline", "completion window, e.g. 2h: what is still queued then is expired (default: none)", TimeSpan.Zero);
        var priority = CliOptions.OneOf("--priority", "priority class: workers serve high before normal before low; batches of a class take turns (default: normal)", ["normal", "high", "low"]);
        var command = new Command("submit", "Submit a batch from a CSV, JSONL or OpenAI batch file; prints the batch id")
        {
            file, minPopulation, limit, prompt, field, batchId, id, delimiter, wait, priority, deadline,
        };
        foreach (var option in BatchOptionsCli.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            var path = parse.GetValue(file)!.FullName;
            if (!File.Exists(path))
            {
                throw new CliException($"FILE: no such file: {path}", ExitCodes.Usage);
            }

            var options = new ItemSourceOptions
            {
                Filter = new ItemFilter(parse.GetValue(minPopulation) is { } min ? PopulationFilter.AtLeast(min) : null, parse.GetValue(limit)),
                Delimiter = parse.GetValue(delimiter),
                IdField = parse.GetValue(id),
            };
            var spec = BatchOptionsCli.Spec(parse, parse.GetValue(prompt), parse.GetValue(field));

            // The file is checked against the prompt it will be filled into: the one given, else the cluster's.
            ClusterConnection? cluster = null;
            try
            {
                // Two passes over the file, neither holding it: the first checks every row, so bad input submits
                // nothing; the second reads the items as they are sent.
                ItemSourceResult source;
                IAsyncEnumerable<BatchItem> items;
                if (await OpenAiBatchReader.IsOpenAiBatchAsync(path, ct))
                {
                    // Each line carries its own messages or prompt; the batch's request options come from the file.
                    var overrides = BatchOptionsCli.OpenAiOverrides(parse, path, parse.GetValue(prompt), parse.GetValue(minPopulation), parse.GetValue(field));
                    var openAi = await OpenAiBatchReader.CheckAsync(path, overrides, parse.GetValue(limit), ct);
                    (source, spec) = (new ItemSourceResult(openAi.ItemCount, openAi.Errors, openAi.ErrorCount, openAi.ItemCount + openAi.ErrorCount), openAi.Spec);
                    items = OpenAiBatchReader.ReadItemsAsync(path, overrides, parse.GetValue(limit), ct);
                }
                else
                {
                    var template = spec.PromptTemplate;
                    if (template is null)
                    {
                        cluster = await Cli.ConnectAsync(parse, ct);
                        template = (await cluster.Client.GetGrain<IQueueGrain>(0).GetDefaultSpecAsync().WaitAsync(ct)).PromptTemplate!;
                    }

                    var checkedOptions = options with { RequiredFields = PromptPlaceholders.Fields(template) };
                    source = await ItemSource.CheckAsync(path, checkedOptions, ct);
                    items = ItemSource.ReadItemsAsync(path, checkedOptions, ct);
                }

                BatchPriorities.TryParse(parse.GetValue(priority), out var batchPriority);
                spec = spec with
                {
                    Priority = batchPriority,
                    CompletionWindow = parse.GetValue(deadline) is var window && window > TimeSpan.Zero ? window : null,
                };
                // The very check the batch grain makes: a spec it would refuse is refused here, before anything is sent.
                if (spec.Check() is { } unusable)
                {
                    throw new CliException(unusable.TrimEnd('.'), ExitCodes.Usage);
                }

                CheckSource(path, source);
                cluster ??= await Cli.ConnectAsync(parse, ct);
                await SubmitAsync(cluster, parse.GetValue(batchId) ?? BatchIds.New(TimeProvider.System), spec, path, source, items, parse.GetValue(wait), ct);
            }
            finally
            {
                if (cluster is not null)
                {
                    await cluster.DisposeAsync();
                }
            }
        }));
        return command;
    }

    private static async Task SubmitAsync(
        ClusterConnection cluster, string batchId, BatchSpec spec, string path, ItemSourceResult source, IAsyncEnumerable<BatchItem> items, bool wait, CancellationToken ct)
    {
        var submitter = new BatchSubmitter(cluster.Client);
        var sent = 0;
        SubmitSummary summary;
        try
        {
            summary = await submitter.SubmitAsync(batchId, spec, items, ct, onChunk: n => sent = n);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Nothing is lost: the items sent stay in the batch, and submitting the same file to it again adds the rest.
            Console.Error.WriteLine(NotSealed(batchId, sent, source));
            throw;
        }
        catch (InvalidDataException ex)
        {
            // The file was checked whole before anything was sent; a bad row now means it changed since.
            throw new CliException($"{path} changed while it was being submitted ({AtLine(path, ex.Message)}); {NotSealed(batchId, sent, source)}", ExitCodes.Failure);
        }

        Console.Out.WriteLine(summary.BatchId);
        Console.Error.WriteLine(Summary(path, source, summary));
        if (!wait)
        {
            return;
        }

        var view = new ProgressView(Console.Error, interactive: !Console.IsErrorRedirected, TimeProvider.System);
        using var stopTicks = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var ticks = view.TickAsync(stopTicks.Token);
        BatchProgress final;
        try
        {
            final = await submitter.WaitAsync(summary.BatchId, TimeSpan.FromMilliseconds(500), view.Show, ct);
        }
        finally
        {
            await stopTicks.CancelAsync();
            await ticks;
            view.Finish();
        }

        // A batch cancelled or expired while waiting says so, with what was removed.
        var ending = final.Status == BatchStates.Completed ? "complete" : $"{final.Status} ({final.Removed} removed)";
        Console.Error.WriteLine($"batch {final.BatchId} {ending}: {final.Done} results, {final.DeadLettered} dead-lettered" +
                                (final.DeadLettered > 0 ? $" (see 'orleansllm dead {final.BatchId}')" : string.Empty));
    }

    private static string NotSealed(string batchId, int sent, ItemSourceResult source) =>
        $"batch {batchId} is not sealed: {sent} of {source.ItemCount} items were sent; " +
        $"run the same command with --batch {batchId} to send the rest (ids already in the batch are skipped)";

    private static void CheckSource(string path, ItemSourceResult source)
    {
        if (source.ErrorCount > 0)
        {
            // Each error names its line; the first few are enough to find the problem, and it stays one line.
            var shown = string.Join("; ", source.Errors.Take(ErrorsShown).Select(e => AtLine(path, e)));
            var more = source.ErrorCount > ErrorsShown ? $"; and {source.ErrorCount - ErrorsShown} more" : string.Empty;
            throw new CliException($"{source.ErrorCount} bad rows in {path} ({shown}{more}); nothing was submitted", ExitCodes.Usage);
        }

        if (source.ItemCount == 0)
        {
            throw new CliException(
                $"no rows of {path} left to submit ({source.RowsRead} read, {LeftOut("skipped by filter", source.Skipped, lines: false)}, {LeftOut("rejected", source.Rejected, lines: true)}); nothing was submitted",
                ExitCodes.Usage);
        }
    }

    // "FILE:3: expected 2 fields" reads as "line 3: expected 2 fields" once the file is named.
    private static string AtLine(string path, string error)
    {
        var rest = error.StartsWith(path + ":", StringComparison.Ordinal) ? error[(path.Length + 1)..] : error;
        return rest.Length > 0 && char.IsAsciiDigit(rest[0]) ? $"line {rest}" : rest;
    }

    /// <summary>One line: rows read, submitted, skipped by the filter and rejected, with the reasons.</summary>
    private static string Summary(string path, ItemSourceResult source, SubmitSummary summary)
    {
        var duplicates = summary.Submitted - summary.Enqueued;
        return $"read {source.RowsRead} rows of {Path.GetFileName(path)}" +
               (source.Delimiter is { } d and not ',' ? $" ({ItemSource.Describe(d)}-separated)" : string.Empty) +
               $": submitted {summary.Enqueued} to batch {summary.BatchId}, {LeftOut("skipped by filter", source.Skipped, lines: false)}, {LeftOut("rejected", source.Rejected, lines: true)}" +
               (duplicates > 0 ? $", {duplicates} skipped as duplicate ids" : string.Empty) +
               (source.LimitReached ? $", stopped at --limit {source.ItemCount}" : string.Empty);
    }

    // Rejected rows are the file's to fix, so their first lines are named; skipped rows are what the filter is for.
    private static string LeftOut(string what, IReadOnlyList<LeftOutRows> rows, bool lines) =>
        rows.Count == 0
            ? $"{what} 0"
            : $"{what} {rows.Sum(r => r.Count)} ({string.Join(", ", rows.Select(r => $"{r.Count} {r.Reason}{(lines ? Lines(r) : string.Empty)}"))})";

    private static string Lines(LeftOutRows rows) =>
        $": line{(rows.Count > 1 ? "s" : string.Empty)} {string.Join(", ", rows.FirstLines.Select(l => l.ToString(CultureInfo.InvariantCulture)))}" +
        (rows.Count > rows.FirstLines.Count ? ", ..." : string.Empty);

    private static string? CheckPrompt(string template) =>
        string.IsNullOrWhiteSpace(template) ? "the prompt must not be empty"
        : PromptPlaceholders.Fields(template).Count == 0 ? $"'{template}' has no {{field}} placeholder, e.g. {{city}}"
        : null;

    private static string? CheckBatchId(string id) =>
        id == BatchIds.Default || !BatchIds.IsValid(id)
            ? $"'{id}' can't be a batch id: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit), and not '{BatchIds.Default}'"
            : null;

    private static string? CheckFieldName(string field) =>
        string.IsNullOrWhiteSpace(field) ? "give a field name" : null;
}
