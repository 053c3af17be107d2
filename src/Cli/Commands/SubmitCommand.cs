using System.CommandLine;
using System.Globalization;
using OrleansLlm.Client;
using OrleansLlm.Client.Input;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Cli.Commands;

/// <summary>
/// <c>submit FILE</c>: reads and checks the whole file against what the batch needs before anything is sent, then
/// streams it to a new batch in chunks and says what came of every row: submitted, skipped by the filter, rejected.
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
                Filter = new ItemFilter(parse.GetValue(minPopulation), parse.GetValue(limit)),
                Delimiter = parse.GetValue(delimiter),
                IdField = parse.GetValue(id),
            };
            var spec = BatchOptionsCli.Spec(parse, parse.GetValue(prompt), parse.GetValue(field));

            // The file is checked against the prompt it will be filled into: the one given, else the cluster's.
            ClusterConnection? cluster = null;
            try
            {
                ItemSourceResult source;
                if (await OpenAiBatchReader.IsOpenAiBatchAsync(path, ct))
                {
                    // Each line carries its own messages or prompt; the batch's request options come from the file.
                    var openAi = await BatchOptionsCli.ReadOpenAiAsync(
                        parse, path, parse.GetValue(prompt), parse.GetValue(minPopulation), parse.GetValue(limit), parse.GetValue(field), ct);
                    (source, spec) = (new ItemSourceResult(openAi.Items, openAi.Errors, openAi.Items.Count + openAi.Errors.Count), openAi.Spec);
                }
                else
                {
                    var template = spec.PromptTemplate;
                    if (template is null)
                    {
                        cluster = await Cli.ConnectAsync(parse, ct);
                        template = (await cluster.Client.GetGrain<IQueueGrain>(0).GetDefaultSpecAsync().WaitAsync(ct)).PromptTemplate!;
                    }

                    source = await ItemSource.ReadAsync(path, options with { RequiredFields = PromptPlaceholders.Fields(template) }, ct);
                }

                BatchPriorities.TryParse(parse.GetValue(priority), out var batchPriority);
                spec = spec with
                {
                    Priority = batchPriority,
                    CompletionWindow = parse.GetValue(deadline) is var window && window > TimeSpan.Zero ? window : null,
                };
                CheckSource(path, source);
                cluster ??= await Cli.ConnectAsync(parse, ct);
                await SubmitAsync(cluster, parse.GetValue(batchId) ?? BatchIds.New(TimeProvider.System), spec, path, source, parse.GetValue(wait), ct);
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
        ClusterConnection cluster, string batchId, BatchSpec spec, string path, ItemSourceResult source, bool wait, CancellationToken ct)
    {
        var submitter = new BatchSubmitter(cluster.Client);
        var sent = 0;
        SubmitSummary summary;
        try
        {
            summary = await submitter.SubmitAsync(batchId, spec, source.Items, ct, onChunk: n => sent = n);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Nothing is lost: the items sent stay in the batch, and submitting the same file to it again adds the rest.
            Console.Error.WriteLine($"batch {batchId} is not sealed: {sent} of {source.Items.Count} items were sent; " +
                                    $"run the same command with --batch {batchId} to send the rest (ids already in the batch are skipped)");
            throw;
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

    private static void CheckSource(string path, ItemSourceResult source)
    {
        if (source.Errors.Count > 0)
        {
            // Each error names its line; the first few are enough to find the problem, and it stays one line.
            var shown = string.Join("; ", source.Errors.Take(ErrorsShown).Select(e => AtLine(path, e)));
            var more = source.Errors.Count > ErrorsShown ? $"; and {source.Errors.Count - ErrorsShown} more" : string.Empty;
            throw new CliException($"{source.Errors.Count} bad rows in {path} ({shown}{more}); nothing was submitted", ExitCodes.Usage);
        }

        if (source.Items.Count == 0)
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
               (source.LimitReached ? $", stopped at --limit {source.Items.Count}" : string.Empty);
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
