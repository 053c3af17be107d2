using System.Text.Json;
using OrleansLlm.Client.Input;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Client;

[Trait("Category", "Unit")]
public sealed class ItemSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-src-").FullName;

    [Fact]
    public async Task RealCities_MinPopulation10M_Gives44_DespiteEmptyAndDecimalPopulations()
    {
        var all = await ReadAsync(Cities.DataFile, new ItemFilter());
        var big = await ReadAsync(Cities.DataFile, new ItemFilter(PopulationFilter.AtLeast(10_000_000)));

        Assert.Empty(all.Errors);
        Assert.Equal(44_691, all.Items.Count);
        Assert.Equal(44, big.Items.Count);
        Assert.Contains(big.Items, i => i.Json.Contains("\"city\":\"Tokyo\""));
        Assert.Contains("\"population\":\"", big.Items[0].Json);
    }

    [Fact]
    public async Task Csv_QuotedFieldsAndLimit()
    {
        var path = Write("a.csv", "city,country,id\n\"Washington, D.C.\",\"United \"\"States\"\"\",1\nParis,France,2\nRome,Italy,3\n");

        var result = await ReadAsync(path, new ItemFilter(Limit: 2));

        Assert.Equal(["1", "2"], result.Items.Select(i => i.Id));
        Assert.Equal("{\"city\":\"Washington, D.C.\",\"country\":\"United \\\"States\\\"\",\"id\":\"1\"}", result.Items[0].Json);
        Assert.True(result.LimitReached);
    }

    [Fact]
    public async Task Csv_BadRows_AreReportedWithLineNumbers()
    {
        var path = Write("bad.csv", "city,country\nParis,France\nOslo\nRome,Italy,extra\n");

        var result = await ReadAsync(path, new ItemFilter());

        Assert.Equal([$"{path}:3: expected 2 fields, found 1", $"{path}:4: expected 2 fields, found 3"], result.Errors);
    }

    [Fact]
    public async Task Csv_ManyBadRows_AreAllCounted_TheFirstKept()
    {
        var path = Write("ragged.csv", "city,country\n" + string.Concat(Enumerable.Range(0, 1000).Select(i => $"Town{i}\n")));

        var result = await ItemSource.CheckAsync(path, new ItemSourceOptions(), CancellationToken.None);

        Assert.Equal((1000, 1000, 0), (result.ErrorCount, result.RowsRead, result.ItemCount));
        Assert.Equal(Enumerable.Range(2, 20).Select(line => $"{path}:{line}: expected 2 fields, found 1"), result.Errors);
    }

    [Fact]
    public async Task JsonLines_InvalidLines_AreReported()
    {
        var path = Write("items.jsonl", "{\"city\":\"Paris\",\"population\":2100000}\n[1]\n{oops\n{\"city\":\"Lyon\",\"population\":\"500000\"}\n");

        var result = await ReadAsync(path, new ItemFilter(PopulationFilter.AtLeast(1_000_000)));

        Assert.Equal(1, result.Source.ItemCount);
        Assert.Equal(2, result.Errors.Count);
        Assert.StartsWith($"{path}:2: expected a JSON object", result.Errors[0]);
        Assert.StartsWith($"{path}:3: not valid JSON", result.Errors[1]);
    }

    [Fact]
    public async Task RealCities_FilterSkips_AreCountedByReason()
    {
        var result = await ReadAsync(Cities.DataFile, new ItemFilter(PopulationFilter.AtLeast(1_000_000)));

        Assert.Equal(44_691, result.RowsRead);
        Assert.Equal(
            [("with a population under 1,000,000", 43_614), ("without a population", 307)],
            result.Skipped.Select(s => (s.Reason, s.Count)));
        Assert.Equal(44_691 - 43_614 - 307, result.Items.Count);
        Assert.Empty(result.Rejected);
    }

    [Fact]
    public async Task Filter_IsTheCallers_AnyFieldAnyRule_InCsvAndJsonLines()
    {
        var inFrance = new RowFilter("country", "the country filter", text => text == "France" ? null : "outside France");
        var csv = Write("c.csv", "city,country\nParis,France\nRome,Italy\nLyon,France\nNice,\n");
        var jsonl = Write("c.jsonl", "{\"city\":\"Paris\",\"country\":\"France\"}\n{\"city\":\"Rome\",\"country\":\"Italy\"}\n{\"city\":\"Nice\"}\n");
        var noColumn = Write("n.csv", "city,land\nParis,France\n");

        var fromCsv = await ReadAsync(csv, new ItemFilter(inFrance));
        var fromJsonl = await ReadAsync(jsonl, new ItemFilter(inFrance));
        var refused = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.CheckAsync(noColumn, new ItemSourceOptions { Filter = new ItemFilter(inFrance) }, CancellationToken.None));

        Assert.Equal(["Paris", "Lyon"], fromCsv.Items.Select(i => JsonDocument.Parse(i.Json).RootElement.GetProperty("city").GetString()));
        Assert.Equal([("outside France", 2)], fromCsv.Skipped.Select(s => (s.Reason, s.Count)));
        Assert.Equal([("outside France", 2)], fromJsonl.Skipped.Select(s => (s.Reason, s.Count)));
        Assert.Equal($"{noColumn}: no column 'country' for the country filter (columns found: city, land)", refused.Message);
    }

    [Fact]
    public async Task Csv_NonAsciiText_StaysUnescapedInTheItemJson()
    {
        var path = Write("accents.csv", "city,country\nSão Paulo,Brasil\nŌsaka,日本\n");

        var result = await ReadAsync(path, new ItemFilter());

        Assert.Equal("{\"city\":\"São Paulo\",\"country\":\"Brasil\"}", result.Items[0].Json);
        Assert.Equal("{\"city\":\"Ōsaka\",\"country\":\"日本\"}", result.Items[1].Json);
    }

    [Theory]
    [InlineData("city;country\nParis;France\n", ';')]
    [InlineData("city\tcountry\nParis\tFrance\n", '\t')]
    [InlineData("city,country\nParis,France\n", ',')]
    [InlineData("\"city;x\",country\nParis,France\n", ',')]
    public async Task Csv_Delimiter_IsDetectedFromTheHeader(string content, char expected)
    {
        var path = Write("d.csv", content);

        var result = await ReadAsync(path, new ItemSourceOptions { RequiredFields = ["country"] });

        Assert.Equal(expected, result.Delimiter);
        Assert.Equal("France", JsonDocument.Parse(Assert.Single(result.Items).Json).RootElement.GetProperty("country").GetString());
    }

    [Fact]
    public async Task Csv_DelimiterGiven_WinsOverDetection()
    {
        var path = Write("pipes.csv", "city|country,extra\nParis|France,x\n");

        var result = await ReadAsync(path, new ItemSourceOptions { Delimiter = '|' });

        Assert.Equal(["city", "country,extra"], result.Fields);
    }

    [Fact]
    public async Task Csv_FirstRowThatLooksLikeData_IsRefused_NamingTheColumnsFound()
    {
        var path = Write("data.csv", "Paris,France,2148000\nOslo,Norway,709000\n");

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.CheckAsync(path, new ItemSourceOptions(), CancellationToken.None));

        Assert.Equal($"{path}: the first row looks like data, not a header ('2148000' is a number; columns found: Paris, France, 2148000); the first row must name the columns", ex.Message);
    }

    [Fact]
    public async Task Csv_HeaderWithoutNeededColumns_IsRefused_NamingEachAndWhy()
    {
        var path = Write("c.csv", "town,country\nParis,France\n");
        var options = new ItemSourceOptions { RequiredFields = ["city", "country"], IdField = "code", Filter = new ItemFilter(PopulationFilter.AtLeast(1)) };

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.CheckAsync(path, options, CancellationToken.None));

        Assert.Equal(
            $"{path}: no column 'city' for the prompt's {{city}}; no column 'code' for the item ids; no column 'population' for the population filter (columns found: town, country)",
            ex.Message);
    }

    [Fact]
    public async Task Csv_HeaderNamingAColumnTwice_IsRefused()
    {
        var path = Write("twice.csv", "city,city\nParis,Paris\n");

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.CheckAsync(path, new ItemSourceOptions(), CancellationToken.None));

        Assert.Equal($"{path}:1: the header row names column 'city' more than once (columns found: city, city)", ex.Message);
    }

    [Fact]
    public async Task Csv_RowsWithoutAValueAPlaceholderNeeds_AreRejected_WithTheirLines_BeforeTheLimitCounts()
    {
        var path = Write("gaps.csv", "city,country\nParis,France\n,Norway\nRome,\nLima,Peru\n");

        var result = await ReadAsync(path, new ItemSourceOptions { RequiredFields = ["city", "country"], Filter = new ItemFilter(Limit: 2) });

        Assert.Equal(["Paris", "Lima"], result.Items.Select(i => JsonDocument.Parse(i.Json).RootElement.GetProperty("city").GetString()));
        Assert.Equal([new LeftOutRows("with no value for city", 1, [3]), new LeftOutRows("with no value for country", 1, [4])], result.Rejected, new LeftOutComparer());
    }

    [Fact]
    public async Task IdFieldGiven_TakesTheIdFromIt_AndRejectsRowsWithoutOne()
    {
        var csv = Write("ids.csv", "code,city\nP1,Paris\n,Oslo\n");
        var jsonl = Write("ids.jsonl", "{\"code\":7,\"city\":\"Rome\"}\n{\"city\":\"Lima\"}\n");

        var fromCsv = await ReadAsync(csv, new ItemSourceOptions { IdField = "code" });
        var fromJsonl = await ReadAsync(jsonl, new ItemSourceOptions { IdField = "code" });

        Assert.Equal(["P1"], fromCsv.Items.Select(i => i.Id));
        Assert.Equal("with no value for code", Assert.Single(fromCsv.Rejected).Reason);
        Assert.Equal(["7"], fromJsonl.Items.Select(i => i.Id));
        Assert.Equal([2], Assert.Single(fromJsonl.Rejected).FirstLines);
    }

    [Fact]
    public async Task JsonLines_APlaceholderNoneOfTheFirstObjectsHas_IsRefused_ButOneSomeLack_OnlyRejectsThose()
    {
        var lines = Enumerable.Range(0, ItemSource.JsonLinesSample + 10).Select(i => i == 5 ? "{\"town\":\"X\"}" : $"{{\"city\":\"C{i}\"}}");
        var path = Write("many.jsonl", string.Join('\n', lines));

        var ok = await ReadAsync(path, new ItemSourceOptions { RequiredFields = ["city"] });
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.CheckAsync(path, new ItemSourceOptions { RequiredFields = ["cty"] }, CancellationToken.None));

        Assert.Equal(ItemSource.JsonLinesSample + 9, ok.Items.Count);
        Assert.Equal([6], Assert.Single(ok.Rejected).FirstLines);
        Assert.Equal($"{path}: no field 'cty' for the prompt's {{cty}} in the first 100 objects (fields found: city, town)", ex.Message);
    }

    [Fact]
    public async Task Csv_InvalidUtf8_InAValueOrAnId_IsABadRowNamingItsLine_NeverReplaced()
    {
        // Latin-1, as a spreadsheet may save it: "São Paulo" with 0xE3, and an id with 0xE9.
        var path = WriteBytes("latin1.csv", [.. "id,city\nsp,S"u8, 0xE3, .. "o Paulo\nlima,Lima\nb"u8, 0xE9, .. "ziers,B\n"u8]);

        var result = await ReadAsync(path, new ItemFilter());

        Assert.Equal([$"{path}:2: {InvalidUtf8("0xE3", 5)}", $"{path}:4: {InvalidUtf8("0xE9", 2)}"], result.Errors);
        // Read anyway, the items stop at the bad row rather than carry U+FFFD.
        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.ReadItemsAsync(path, new ItemSourceOptions(), CancellationToken.None).ToListAsync().AsTask());
        Assert.Equal(result.Errors[0], ex.Message);
    }

    [Fact]
    public async Task Csv_InvalidUtf8_InALineOfAQuotedField_NamesThatLine()
    {
        var path = WriteBytes("multi.csv", [.. "id,notes\n1,\"first\nsecond "u8, 0xFF, .. "\"\n2,ok\n"u8]);

        var result = await ReadAsync(path, new ItemFilter());

        Assert.Equal([$"{path}:3: {InvalidUtf8("0xFF", 8)}"], result.Errors);
        Assert.Equal((2, 1), (result.RowsRead, result.Source.ItemCount));
    }

    [Fact]
    public async Task Csv_InvalidUtf8_InTheHeader_RefusesTheFile()
    {
        var path = WriteBytes("header.csv", [.. "id,ci"u8, 0xF6, .. "y\n1,Paris\n"u8]);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.CheckAsync(path, new ItemSourceOptions(), CancellationToken.None));

        Assert.Equal($"{path}:1: {InvalidUtf8("0xF6", 6)}", ex.Message);
    }

    [Fact]
    public async Task JsonLines_InvalidUtf8_IsABadRowNamingItsLine()
    {
        var path = WriteBytes("items.jsonl", [.. "{\"city\":\"Paris\"}\n{\"city\":\"S"u8, 0xE3, .. "o Paulo\"}\n{\"city\":\"Lima\"}\n"u8]);

        var result = await ReadAsync(path, new ItemSourceOptions { RequiredFields = ["city"] });

        Assert.Equal([$"{path}:2: {InvalidUtf8("0xE3", 11)}"], result.Errors);
        Assert.Equal(3, result.RowsRead);
    }

    [Fact]
    public async Task EmptyFile_IsRefused()
    {
        var path = Write("empty.csv", string.Empty);

        var ex = await Assert.ThrowsAsync<InvalidDataException>(() => ItemSource.CheckAsync(path, new ItemSourceOptions(), CancellationToken.None));

        Assert.Equal($"{path}: the file is empty; a CSV needs a header row naming its columns", ex.Message);
    }

    [Fact]
    public async Task MissingFile_IsAClearError()
    {
        var ex = await Assert.ThrowsAsync<FileNotFoundException>(() => ItemSource.CheckAsync(Path.Combine(_dir, "nope.csv"), new ItemSourceOptions(), CancellationToken.None));
        Assert.StartsWith("no such file:", ex.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Read(ItemSourceResult Source, IReadOnlyList<BatchItem> Items)
    {
        public IReadOnlyList<string> Errors => Source.Errors;

        public int RowsRead => Source.RowsRead;

        public IReadOnlyList<LeftOutRows> Skipped => Source.Skipped;

        public IReadOnlyList<LeftOutRows> Rejected => Source.Rejected;

        public bool LimitReached => Source.LimitReached;

        public char? Delimiter => Source.Delimiter;

        public IReadOnlyList<string> Fields => Source.Fields;
    }

    private sealed class LeftOutComparer : IEqualityComparer<LeftOutRows>
    {
        public bool Equals(LeftOutRows? x, LeftOutRows? y) =>
            x is not null && y is not null && x.Reason == y.Reason && x.Count == y.Count && x.FirstLines.SequenceEqual(y.FirstLines);

        public int GetHashCode(LeftOutRows obj) => obj.Reason.GetHashCode(StringComparison.Ordinal);
    }

    /// <summary>
    /// Both passes, as submit makes them: the check, then, when it found no bad row, the items, which must be as many
    /// as it counted.
    /// </summary>
    private static async Task<Read> ReadAsync(string path, ItemSourceOptions options)
    {
        var source = await ItemSource.CheckAsync(path, options, CancellationToken.None);
        var items = source.ErrorCount == 0 ? await ItemSource.ReadItemsAsync(path, options, CancellationToken.None).ToListAsync() : [];
        Assert.Equal(source.ErrorCount == 0 ? source.ItemCount : 0, items.Count);
        return new Read(source, items);
    }

    private static Task<Read> ReadAsync(string path, ItemFilter filter) => ReadAsync(path, new ItemSourceOptions { Filter = filter });

    private static string InvalidUtf8(string value, int column) =>
        $"not valid UTF-8 (byte {value} at column {column}); is the file in another encoding, such as Latin-1? save it as UTF-8";

    private string WriteBytes(string name, byte[] content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }
}
