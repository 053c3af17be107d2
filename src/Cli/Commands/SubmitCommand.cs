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

    private static readonly Argument<FileInfo> FileArgument = new("FILE") { Description = "CSV with a header row (',', ';' or tab), JSON Lines (.jsonl), or an OpenAI batch file (custom_id, url, body per line)" };
    private static readonly Option<double?> MinPopulation = CliOptions.Number("--min-population", "only rows with at least this population", min: 0);
    private static readonly Option<int?> Limit = CliOptions.Count("--limit", "submit at most this many rows", min: 1);
    private static readonly Option<string?> Prompt = CliOptions.Text("--prompt", "prompt template with {field} placeholders (default: the silo's Prompt:Template)", CheckPrompt);
    private static readonly Option<string?> Field = CliOptions.Text("--field", "result field for the answer (default: the silo's Prompt:AnswerField)", AnswerFields.Check);
    private static readonly Option<string?> BatchId = CliOptions.Text("--batch", "batch id (default: a new one)", CheckBatchId);
    private static readonly Option<string?> Id = CliOptions.Text("--id", "field holding each row's id (default: 'id' when there is one, else a hash of the row)", CheckFieldName);
    private static readonly Option<char?> Delimiter = CliOptions.Delimiter("--delimiter", "CSV delimiter: one character, or 'tab' (default: detected from the header: ',', ';' or tab)");
    private static readonly Option<bool> Wait = new("--wait") { Description = "show progress until every item is done" };
    private static readonly Option<TimeSpan> Deadline = CliOptions.Duration("--deadline", "completion window, e.g. 2h: what is still queued then is expired (default: none)", TimeSpan.Zero);
    private static readonly Option<string> Priority = CliOptions.OneOf("--priority", "priority class: workers serve high before normal before low; batches of a class take turns (default: normal)", ["normal", "high", "low"]);

    public static Command Create()
    {
        var command = new Command("submit", "Submit a batch from a CSV, JSONL or OpenAI batch file; prints the batch id")
        {
            FileArgument, MinPopulation, Limit, Prompt, Field, BatchId, Id, Delimiter, Wait, Priority, Deadline,
        };
        foreach (var option in BatchOptionsCli.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, () => RunAsync(parse, ct)));
        return command;
    }

    /// <remarks>
    /// Everything the command line and the file can get wrong is found before anything connects, so a bad file is
    /// refused in one line even where no cluster runs; then it connects once. Two passes over the file, neither
    /// holding it: the first checks every row, so bad input submits nothing; the second reads the items as they are
    /// sent. Without <c>--prompt</c> the file is checked once more, once connected, against the silo's prompt.
    /// </remarks>
    private static async Task RunAsync(ParseResult parse, CancellationToken ct)
    {
        var path = parse.GetValue(FileArgument)!.FullName;
        if (!File.Exists(path))
        {
            throw new CliException($"FILE: no such file: {path}", ExitCodes.Usage);
        }

        var options = ItemOptions(parse);
        var spec = BatchOptionsCli.Spec(parse, parse.GetValue(Prompt), parse.GetValue(Field));
        ItemSourceResult source;
        IAsyncEnumerable<BatchItem> items;
        if (await OpenAiBatchReader.IsOpenAiBatchAsync(path, ct))
        {
            (spec, source, items) = await CheckOpenAiBatchAsync(parse, path, ct);
        }
        else
        {
            (source, items) = await CheckItemsAsync(path, options, spec.PromptTemplate, ct);
        }

        spec = WithPriorityAndDeadline(parse, spec);
        CheckSource(path, source);
        await using var cluster = await Cli.ConnectAsync(parse, ct);
        if (spec is { PromptTemplate: null, Chat: false })
        {
            // The batch gets the silo's prompt, which only the cluster knows: the file must have what it needs too.
            var template = (await cluster.Client.GetGrain<IQueueGrain>(0).GetDefaultSpecAsync(ct)).PromptTemplate!;
            (source, items) = await CheckItemsAsync(path, options, template, ct);
            CheckSource(path, source);
        }

        await SubmitAsync(cluster, parse.GetValue(BatchId) ?? BatchIds.New(TimeProvider.System), spec, path, source, items, parse.GetValue(Wait), ct);
    }

    private static ItemSourceOptions ItemOptions(ParseResult parse) => new()
    {
        Filter = new ItemFilter(parse.GetValue(MinPopulation) is { } min ? PopulationFilter.AtLeast(min) : null, parse.GetValue(Limit)),
        Delimiter = parse.GetValue(Delimiter),
        IdField = parse.GetValue(Id),
    };

    /// <summary>Checks a CSV or JSON Lines file against the prompt it will be filled into; null for none yet.</summary>
    private static async Task<(ItemSourceResult Source, IAsyncEnumerable<BatchItem> Items)> CheckItemsAsync(
        string path, ItemSourceOptions options, string? template, CancellationToken ct)
    {
        var checkedOptions = template is null ? options : options with { RequiredFields = PromptPlaceholders.Fields(template) };
        return (await ItemSource.CheckAsync(path, checkedOptions, ct), ItemSource.ReadItemsAsync(path, checkedOptions, ct));
    }

    /// <summary>Each line carries its own messages or prompt; the batch's request options come from the file.</summary>
    private static async Task<(BatchSpec Spec, ItemSourceResult Source, IAsyncEnumerable<BatchItem> Items)> CheckOpenAiBatchAsync(
        ParseResult parse, string path, CancellationToken ct)
    {
        var overrides = BatchOptionsCli.OpenAiOverrides(parse, path, parse.GetValue(Prompt), parse.GetValue(MinPopulation), parse.GetValue(Field));
        var openAi = await OpenAiBatchReader.CheckAsync(path, overrides, parse.GetValue(Limit), ct);
        var source = new ItemSourceResult(openAi.ItemCount, openAi.Errors, openAi.ErrorCount, openAi.ItemCount + openAi.ErrorCount);
        return (openAi.Spec, source, OpenAiBatchReader.ReadItemsAsync(path, overrides, parse.GetValue(Limit), ct));
    }

    /// <exception cref="CliException">The very check the batch grain makes refuses the spec: refused here, before anything is sent.</exception>
    private static BatchSpec WithPriorityAndDeadline(ParseResult parse, BatchSpec spec)
    {
        BatchPriorities.TryParse(parse.GetValue(Priority), out var batchPriority);
        spec = spec with
        {
            Priority = batchPriority,
            CompletionWindow = parse.GetValue(Deadline) is var window && window > TimeSpan.Zero ? window : null,
        };
        return spec.Check() is { } unusable ? throw new CliException(unusable.TrimEnd('.'), ExitCodes.Usage) : spec;
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
