using OrleansLlm.Client.Input;
using OrleansLlm.Tests.Infrastructure;

namespace OrleansLlm.Tests.Client;

public sealed class ItemSourceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-src-").FullName;

    [Fact]
    public async Task RealCities_MinPopulation10M_Gives44_DespiteEmptyAndDecimalPopulations()
    {
        var all = await ItemSource.ReadAsync(Cities.DataFile, new ItemFilter(), CancellationToken.None);
        var big = await ItemSource.ReadAsync(Cities.DataFile, new ItemFilter(MinPopulation: 10_000_000), CancellationToken.None);

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

        var result = await ItemSource.ReadAsync(path, new ItemFilter(Limit: 2), CancellationToken.None);

        Assert.Equal(["1", "2"], result.Items.Select(i => i.Id));
        Assert.Equal("{\"city\":\"Washington, D.C.\",\"country\":\"United \\u0022States\\u0022\",\"id\":\"1\"}", result.Items[0].Json);
    }

    [Fact]
    public async Task Csv_BadRows_AreReportedWithLineNumbers()
    {
        var path = Write("bad.csv", "city,country\nParis,France\nOslo\nRome,Italy,extra\n");

        var result = await ItemSource.ReadAsync(path, new ItemFilter(), CancellationToken.None);

        Assert.Equal([$"{path}:3: expected 2 fields, found 1", $"{path}:4: expected 2 fields, found 3"], result.Errors);
    }

    [Fact]
    public async Task JsonLines_InvalidLines_AreReported()
    {
        var path = Write("items.jsonl", "{\"city\":\"Paris\",\"population\":2100000}\n[1]\n{oops\n{\"city\":\"Lyon\",\"population\":\"500000\"}\n");

        var result = await ItemSource.ReadAsync(path, new ItemFilter(MinPopulation: 1_000_000), CancellationToken.None);

        Assert.Single(result.Items);
        Assert.Equal(2, result.Errors.Count);
        Assert.StartsWith($"{path}:2: expected a JSON object", result.Errors[0]);
        Assert.StartsWith($"{path}:3: not valid JSON", result.Errors[1]);
    }

    [Fact]
    public async Task MissingFile_IsAClearError()
    {
        var ex = await Assert.ThrowsAsync<FileNotFoundException>(() => ItemSource.ReadAsync(Path.Combine(_dir, "nope.csv"), new ItemFilter(), CancellationToken.None));
        Assert.StartsWith("no such file:", ex.Message);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }
}
