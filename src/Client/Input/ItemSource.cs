using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Client.Input;

/// <summary>Which rows of a source to submit.</summary>
/// <param name="MinPopulation">Keep rows whose <c>population</c> is at least this; rows without a usable population are left out.</param>
/// <param name="Limit">Keep at most this many rows (after the population filter).</param>
public sealed record ItemFilter(double? MinPopulation = null, int? Limit = null);

/// <summary>What reading a source produced: the items to submit, and every row that could not be read.</summary>
public sealed record ItemSourceResult(IReadOnlyList<BatchItem> Items, IReadOnlyList<string> Errors, int RowsRead);

/// <summary>
/// Reads items from a CSV file with a header row (every value becomes a JSON string, as Bento's
/// <c>csv</c> input does) or from JSON Lines (one object per line).
/// </summary>
public static class ItemSource
{
    public static async Task<ItemSourceResult> ReadAsync(string path, ItemFilter filter, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no such file: {path}", path);
        }

        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var first = (char)Math.Max(0, reader.Peek());
        var isJsonLines = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase)
            || first == '{';
        return isJsonLines
            ? await ReadJsonLinesAsync(reader, path, filter, cancellationToken)
            : ReadCsv(reader, path, filter, cancellationToken);
    }

    private static ItemSourceResult ReadCsv(TextReader text, string path, ItemFilter filter, CancellationToken cancellationToken)
    {
        var csv = new CsvReader(text);
        var header = csv.ReadRecord() ?? throw new InvalidDataException($"{path}: the file is empty; a CSV needs a header row");
        if (header.Count == 0 || header.Any(string.IsNullOrWhiteSpace) || header.Distinct().Count() != header.Count)
        {
            throw new InvalidDataException($"{path}:1: the header row must name every column once");
        }

        var items = new List<BatchItem>();
        var errors = new List<string>();
        var rows = 0;
        var idColumn = header.IndexOf("id");
        var populationColumn = header.IndexOf("population");
        while (items.Count < (filter.Limit ?? int.MaxValue))
        {
            cancellationToken.ThrowIfCancellationRequested();
            List<string>? row;
            try
            {
                row = csv.ReadRecord();
            }
            catch (FormatException ex)
            {
                errors.Add($"{path}:{ex.Message}");
                break;
            }

            if (row is null)
            {
                break;
            }

            if (row is [""])
            {
                continue;
            }

            rows++;
            if (row.Count != header.Count)
            {
                errors.Add($"{path}:{csv.RecordLine}: expected {header.Count} fields, found {row.Count}");
                continue;
            }

            if (filter.MinPopulation is { } min && !(populationColumn >= 0 && ParsePopulation(row[populationColumn]) >= min))
            {
                continue;
            }

            var json = ToJson(header, row);
            var id = idColumn >= 0 && row[idColumn].Length > 0 ? row[idColumn] : ItemIds.FromContent(json);
            items.Add(new BatchItem(id, json));
        }

        return new ItemSourceResult(items, errors, rows);
    }

    private static async Task<ItemSourceResult> ReadJsonLinesAsync(TextReader text, string path, ItemFilter filter, CancellationToken cancellationToken)
    {
        var items = new List<BatchItem>();
        var errors = new List<string>();
        var lineNumber = 0;
        var rows = 0;
        while (items.Count < (filter.Limit ?? int.MaxValue) && await text.ReadLineAsync(cancellationToken) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            rows++;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{path}:{lineNumber}: expected a JSON object, found {root.ValueKind.ToString().ToLowerInvariant()}");
                    continue;
                }

                if (filter.MinPopulation is { } min && !(root.TryGetProperty("population", out var p) && ParsePopulation(p) >= min))
                {
                    continue;
                }

                var json = root.GetRawText();
                var id = ItemIds.Of(root, json);
                items.Add(new BatchItem(id, json));
            }
            catch (JsonException ex)
            {
                errors.Add($"{path}:{lineNumber}: not valid JSON ({ex.Message})");
            }
        }

        return new ItemSourceResult(items, errors, rows);
    }

    // The real data has empty populations and some with decimals ("1234.5"): both must parse or be skipped, not crash.
    private static double ParsePopulation(string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : double.NaN;

    private static double ParsePopulation(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.String => ParsePopulation(value.GetString()!),
        _ => double.NaN,
    };

    private static string ToJson(List<string> header, List<string> row)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
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
}
