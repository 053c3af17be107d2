using System.Text.Json;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>Real cities from <c>data/worldcities.csv</c>, shaped as Bento's csv → redis_list pipeline pushes them.</summary>
public static class Cities
{
    public static string DataFile => Path.Combine(RepoRoot(), "data", "worldcities.csv");

    /// <summary>The first <paramref name="count"/> rows as raw JSON objects with every field a string.</summary>
    public static async Task<IReadOnlyList<BatchItem>> LoadAsync(int count)
    {
        var source = await ItemSource.ReadAsync(DataFile, new ItemFilter(Limit: count), CancellationToken.None);
        return source.Items;
    }

    public static string Name(JsonElement item) => item.GetProperty("city").GetString()!;

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OrleansLlm.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("can't find the repository root (OrleansLlm.sln)");
    }
}
