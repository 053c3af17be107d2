using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Client.Input;

/// <summary>
/// Reads items from a CSV file with a header row (every value becomes a JSON string, as Bento's <c>csv</c> input
/// does) or from JSON Lines (one object per line), and checks them against what the batch needs before anything is
/// submitted: the header (or the first objects) must have every needed field, and rows without a value for one are
/// set aside and counted, never sent to fail later.
/// </summary>
public static class ItemSource
{
    /// <summary>How many objects of a JSON Lines file show which fields it has.</summary>
    public const int JsonLinesSample = 100;

    private const int MaxLinesPerReason = 5;
    private const int MaxFieldsShown = 20;
    private const string DefaultIdField = "id";

    /// <summary>
    /// Reads the whole file, one row at a time, and says what submitting it would do: how many items, every row that
    /// can't be read, and every row left out, with why. No item is kept, so a file of any size is checked in little
    /// memory; <see cref="ReadItemsAsync"/> then reads the items.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">
    /// The file can't give the batch what it needs: an empty file, a first row that looks like data rather than a
    /// header, or a needed field missing from the header (CSV) or from every one of the first objects (JSON Lines).
    /// The message names the fields the file has.
    /// </exception>
    public static async Task<ItemSourceResult> CheckAsync(string path, ItemSourceOptions options, CancellationToken cancellationToken)
    {
        var pass = new Pass(keepsItems: false);
        await foreach (var _ in ReadAsync(path, options, pass, cancellationToken))
        {
        }

        return pass.Result();
    }

    /// <summary>
    /// The file's items, read as they are asked for, one row at a time: the ones <see cref="CheckAsync"/> counts.
    /// Rows left out are passed over; they are the check's to report.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">
    /// What <see cref="CheckAsync"/> refuses a file for, or a row it would report as bad, e.g. when the file changed
    /// since it was checked: the items are not read past it.
    /// </exception>
    public static IAsyncEnumerable<BatchItem> ReadItemsAsync(string path, ItemSourceOptions options, CancellationToken cancellationToken) =>
        ReadAsync(path, options, new Pass(keepsItems: true), cancellationToken);

    private static async IAsyncEnumerable<BatchItem> ReadAsync(
        string path, ItemSourceOptions options, Pass pass, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no such file: {path}", path);
        }

        var firstLine = await FirstLineAsync(path, cancellationToken);
        using var lines = Utf8LineReader.Open(path);
        var isJsonLines = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)
            || firstLine.StartsWith('{');
        var items = isJsonLines
            ? ReadJsonLinesAsync(lines, path, options, pass, cancellationToken)
            : ReadCsvAsync(lines, path, options.Delimiter ?? CsvReader.DetectDelimiter(firstLine), options, pass, cancellationToken);
        await foreach (var item in items)
        {
            yield return item;
        }
    }

    private static async Task<string> FirstLineAsync(string path, CancellationToken cancellationToken)
    {
        using var lines = Utf8LineReader.Open(path);
        return (await lines.ReadLineAsync(cancellationToken))?.Text ?? string.Empty;
    }

    private static async IAsyncEnumerable<BatchItem> ReadCsvAsync(
        Utf8LineReader lines, string path, char delimiter, ItemSourceOptions options, Pass pass, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var csv = new CsvReader(lines, delimiter);
        var header = await ReadHeaderAsync(csv, path, delimiter, options, cancellationToken);
        pass.Fields = header;
        pass.Delimiter = delimiter;
        var columns = new CsvColumns(
            header.IndexOf(options.IdField ?? DefaultIdField),
            options.Filter.Keep is { } keeping ? header.IndexOf(keeping.Field) : -1,
            options.RequiredFields.Select(f => (Field: f, Column: header.IndexOf(f))).ToArray());
        while (!pass.AtLimit(options.Filter) && await NextRecordAsync(csv, path, pass, cancellationToken) is { } record)
        {
            if (record.Fields is [""] && record.BadLine is null)
            {
                continue;
            }

            pass.Rows++;
            if (!TakeCsvRow(record, header, columns, path, options, pass, out var ownId))
            {
                continue;
            }

            pass.Items++;
            if (pass.KeepsItems)
            {
                var json = ToJson(header, record.Fields);
                yield return new BatchItem(ownId ?? ItemIds.FromContent(json), json);
            }
        }
    }

    private static async Task<List<string>> ReadHeaderAsync(CsvReader csv, string path, char delimiter, ItemSourceOptions options, CancellationToken cancellationToken)
    {
        CsvRecord? first;
        try
        {
            first = await csv.ReadRecordAsync(cancellationToken);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"{path}:{ex.Message} in the header row");
        }

        if (first?.BadLine is { } badHeader)
        {
            throw new InvalidDataException($"{path}:{badHeader.Number}: {badHeader.Error}");
        }

        var header = first?.Fields.Select(c => c.Trim()).ToList();
        if (header is null or [""])
        {
            throw new InvalidDataException($"{path}: the file is empty; a CSV needs a header row naming its columns");
        }

        CheckHeader(path, header, delimiter, options);
        return header;
    }

    /// <returns>The next record; null at the end, or after a quoting error the pass records (nothing past it is read).</returns>
    private static async Task<CsvRecord?> NextRecordAsync(CsvReader csv, string path, Pass pass, CancellationToken cancellationToken)
    {
        try
        {
            return await csv.ReadRecordAsync(cancellationToken);
        }
        catch (FormatException ex)
        {
            pass.Error($"{path}:{ex.Message}");
            return null;
        }
    }

    /// <returns>True, with the row's own id if it has one, when the row is an item; else the pass has recorded why not.</returns>
    private static bool TakeCsvRow(CsvRecord record, List<string> header, CsvColumns columns, string path, ItemSourceOptions options, Pass pass, out string? ownId)
    {
        ownId = null;
        var (row, line) = (record.Fields, record.Line);
        if (record.BadLine is { } bad)
        {
            pass.Error($"{path}:{bad.Number}: {bad.Error}");
            return false;
        }

        if (row.Count != header.Count)
        {
            pass.Error($"{path}:{line}: expected {header.Count} fields, found {row.Count}");
            return false;
        }

        if (options.Filter.Keep is { } keep && keep.SkipReason(row[columns.Keep]) is { } skip)
        {
            pass.Skip(skip, line);
            return false;
        }

        if (columns.Required.FirstOrDefault(r => row[r.Column].Length == 0) is { Field: { } empty })
        {
            pass.Reject(NoValue(empty), line);
            return false;
        }

        ownId = columns.Id >= 0 && row[columns.Id].Length > 0 ? row[columns.Id] : null;
        if (ownId is null && options.IdField is { } idField)
        {
            pass.Reject(NoValue(idField), line);
            return false;
        }

        return true;
    }

    private static async IAsyncEnumerable<BatchItem> ReadJsonLinesAsync(
        Utf8LineReader lines, string path, ItemSourceOptions options, Pass pass, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var fields = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var sampled = 0;
        pass.Fields = fields;
        while (!pass.AtLimit(options.Filter) && await lines.ReadLineAsync(cancellationToken) is { Text: var line, Number: var lineNumber, Error: var error })
        {
            if (string.IsNullOrWhiteSpace(line) && error is null)
            {
                continue;
            }

            pass.Rows++;
            using var doc = ParseObject(line, lineNumber, error, path, pass);
            if (doc is null)
            {
                continue;
            }

            var root = doc.RootElement;
            if (sampled < JsonLinesSample)
            {
                // The first objects stand for the file: a needed field none of them has is a mistake, not a gap.
                fields.AddRange(root.EnumerateObject().Select(p => p.Name).Where(seen.Add));
                if (++sampled == JsonLinesSample)
                {
                    CheckSampledFields(path, fields, sampled, options);
                }
            }

            if (TakeJsonObject(root, lineNumber, options, pass, out var ownId))
            {
                pass.Items++;
                if (pass.KeepsItems)
                {
                    var json = root.GetRawText();
                    yield return new BatchItem(ownId ?? ItemIds.Of(root, json), json);
                }
            }
        }

        if (sampled is > 0 and < JsonLinesSample)
        {
            CheckSampledFields(path, fields, sampled, options);
        }
    }

    /// <returns>The line's object, for the caller to dispose; null when the line is no JSON object, which the pass records.</returns>
    private static JsonDocument? ParseObject(string line, int lineNumber, string? error, string path, Pass pass)
    {
        if (error is not null)
        {
            pass.Error($"{path}:{lineNumber}: {error}");
            return null;
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            pass.Error($"{path}:{lineNumber}: not valid JSON ({ex.Message})");
            return null;
        }

        if (doc.RootElement.ValueKind == JsonValueKind.Object)
        {
            return doc;
        }

        var kind = doc.RootElement.ValueKind.ToString().ToLowerInvariant();
        doc.Dispose();
        pass.Error($"{path}:{lineNumber}: expected a JSON object, found {kind}");
        return null;
    }

    /// <returns>True, with the object's own id when the options name its field, when it is an item; else the pass has recorded why not.</returns>
    private static bool TakeJsonObject(JsonElement root, int lineNumber, ItemSourceOptions options, Pass pass, out string? ownId)
    {
        ownId = null;
        if (options.Filter.Keep is { } keep
            && keep.SkipReason(root.TryGetProperty(keep.Field, out var kept) ? PromptPlaceholders.TextOf(kept) : null) is { } skip)
        {
            pass.Skip(skip, lineNumber);
            return false;
        }

        if (options.RequiredFields.FirstOrDefault(f => !HasValue(root, f)) is { } empty)
        {
            pass.Reject(NoValue(empty), lineNumber);
            return false;
        }

        if (options.IdField is { } idField
            && (!root.TryGetProperty(idField, out var own) || (ownId = PromptPlaceholders.TextOf(own)) is not { Length: > 0 }))
        {
            pass.Reject(NoValue(idField), lineNumber);
            return false;
        }

        return true;
    }

    /// <summary>What the batch needs of every row, and for what, in messages.</summary>
    private static IEnumerable<(string Field, string Purpose)> Needs(ItemSourceOptions options)
    {
        foreach (var field in options.RequiredFields)
        {
            yield return (field, $"the prompt's {{{field}}}");
        }

        if (options.IdField is { } id)
        {
            yield return (id, "the item ids");
        }

        if (options.Filter.Keep is { } keep)
        {
            yield return (keep.Field, keep.Purpose);
        }
    }

    private static void CheckHeader(string path, List<string> header, char delimiter, ItemSourceOptions options)
    {
        var found = $"columns found: {Shown(header)}";
        if (header.FirstOrDefault(LooksLikeData) is { } value)
        {
            throw new InvalidDataException(
                $"{path}: the first row looks like data, not a header ('{value}' is a number; {found}); the first row must name the columns");
        }

        if (header.IndexOf(string.Empty) is >= 0 and var unnamed)
        {
            throw new InvalidDataException($"{path}:1: column {unnamed + 1} of the header row has no name ({found})");
        }

        if (header.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new InvalidDataException($"{path}:1: the header row names column '{twice.Key}' more than once ({found})");
        }

        var missing = Needs(options).Where(n => !header.Contains(n.Field, StringComparer.Ordinal)).ToArray();
        if (missing.Length > 0)
        {
            // One column holding another usual delimiter is a file read with the wrong one.
            var other = header is [var only] ? CsvReader.CommonDelimiters.FirstOrDefault(d => d != delimiter && only.Contains(d)) : default;
            var hint = other == default ? string.Empty : $"; is the delimiter {Describe(other)}? say so with --delimiter";
            throw new InvalidDataException($"{path}: {Missing(missing, "column")} ({found}){hint}");
        }
    }

    private static void CheckSampledFields(string path, List<string> fields, int sampled, ItemSourceOptions options)
    {
        var missing = Needs(options).Where(n => !fields.Contains(n.Field, StringComparer.Ordinal)).ToArray();
        if (missing.Length > 0)
        {
            var objects = sampled == 1 ? "the first object" : $"the first {sampled} objects";
            throw new InvalidDataException($"{path}: {Missing(missing, "field")} in {objects} (fields found: {Shown(fields)})");
        }
    }

    private static string Missing((string Field, string Purpose)[] missing, string kind) =>
        string.Join("; ", missing.Select(m => $"no {kind} '{m.Field}' for {m.Purpose}"));

    private static string Shown(IReadOnlyList<string> names) =>
        names.Count == 0 ? "none"
        : string.Join(", ", names.Take(MaxFieldsShown)) + (names.Count > MaxFieldsShown ? $", ... ({names.Count} in all)" : string.Empty);

    /// <summary>A delimiter as a person would name it.</summary>
    public static string Describe(char delimiter) => delimiter == '\t' ? "tab" : $"'{delimiter}'";

    // Column names are words; a number in the first row means the file has no header, and its first row of data
    // would be taken for one (and lost).
    private static bool LooksLikeData(string cell) =>
        cell.Any(char.IsAsciiDigit) && double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    private static string NoValue(string field) => $"with no value for {field}";

    private static bool HasValue(JsonElement item, string field) =>
        item.TryGetProperty(field, out var value) && PromptPlaceholders.TextOf(value) is { Length: > 0 };

    private static string ToJson(List<string> header, IReadOnlyList<string> row)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            w.WriteStartObject();
            for (var i = 0; i < header.Count; i++)
            {
                w.WriteString(header[i], row[i]);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Where a CSV row holds its id, the filter's field and each field the batch needs; -1 for none.</summary>
    private readonly record struct CsvColumns(int Id, int Keep, (string Field, int Column)[] Required);

    /// <summary>
    /// What one pass over a file found: rows read, items, bad rows and rows left out, by reason in the order the
    /// reasons first came up. Its size does not grow with the file's: only the first few errors and lines are kept.
    /// </summary>
    /// <param name="keepsItems">
    /// True for the pass that reads the items: it stops at the first bad row (<see cref="BadRows"/>); false for the
    /// check, which counts every bad row, and builds no item.
    /// </param>
    private sealed class Pass(bool keepsItems)
    {
        private readonly BadRows _errors = new(stopAtFirst: keepsItems);
        private readonly List<(string Reason, List<int> Lines, int Count)> _skipped = [];
        private readonly List<(string Reason, List<int> Lines, int Count)> _rejected = [];
        private bool _limitReached;

        public bool KeepsItems => keepsItems;

        public int Rows { get; set; }

        public int Items { get; set; }

        public IReadOnlyList<string> Fields { get; set; } = [];

        public char? Delimiter { get; set; }

        /// <summary>True when the filter's limit is reached: no more rows are read.</summary>
        public bool AtLimit(ItemFilter filter) => _limitReached = Items >= (filter.Limit ?? int.MaxValue);

        /// <exception cref="InvalidDataException">This pass reads the items, which stop at a bad row.</exception>
        public void Error(string error) => _errors.Add(error);

        public void Skip(string reason, int line) => Add(_skipped, reason, line);

        public void Reject(string reason, int line) => Add(_rejected, reason, line);

        public ItemSourceResult Result() => new(Items, _errors.First, _errors.Count, Rows)
        {
            Fields = Fields,
            Skipped = [.. _skipped.Select(s => new LeftOutRows(s.Reason, s.Count, s.Lines))],
            Rejected = [.. _rejected.Select(r => new LeftOutRows(r.Reason, r.Count, r.Lines))],
            LimitReached = _limitReached,
            Delimiter = Delimiter,
        };

        private static void Add(List<(string Reason, List<int> Lines, int Count)> tally, string reason, int line)
        {
            var i = tally.FindIndex(t => t.Reason == reason);
            if (i < 0)
            {
                tally.Add((reason, [line], 1));
                return;
            }

            var (r, lines, count) = tally[i];
            if (lines.Count < MaxLinesPerReason)
            {
                lines.Add(line);
            }

            tally[i] = (r, lines, count + 1);
        }
    }
}
