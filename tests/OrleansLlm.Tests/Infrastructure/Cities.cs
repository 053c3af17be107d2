using System.Text.Json;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>Real cities from <c>data/worldcities.csv</c>, shaped as Bento's csv → redis_list pipeline pushes them.</summary>
public static class Cities
{
    public static string DataFile => Path.Combine(RepoPaths.Root, "data", "worldcities.csv");

    /// <summary>The first <paramref name="count"/> rows as raw JSON objects with every field a string.</summary>
    public static async Task<IReadOnlyList<BatchItem>> LoadAsync(int count)
    {
        return await ItemSource.ReadItemsAsync(DataFile, new ItemSourceOptions { Filter = new ItemFilter(Limit: count) }, CancellationToken.None).ToListAsync();
    }

    public static string Name(JsonElement item) => item.GetProperty("city").GetString()!;

    /// <summary>The id of a raw city item: its own <c>id</c> field.</summary>
    public static string IdOf(string payload)
    {
        using var doc = JsonDocument.Parse(payload);
        return doc.RootElement.GetProperty("id").GetString()!;
    }
}
