using System.Runtime.CompilerServices;

namespace OrleansLlm.Client;

/// <summary>Reads a batch's results page by page, so 45,000 results never travel in one message or sit in memory at once.</summary>
public static class BatchResults
{
    public const int DefaultPageSize = 1000;

    /// <summary>Every result document of the batch, each exactly once, in submission order (completion order for raw items).</summary>
    public static async IAsyncEnumerable<string> ReadAsync(
        IBatchGrain batch, [EnumeratorCancellation] CancellationToken cancellationToken, int pageSize = DefaultPageSize)
    {
        string? cursor = null;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await batch.GetResultsAsync(cursor, pageSize, cancellationToken);
            foreach (var result in page.Results)
            {
                yield return result;
            }

            cursor = page.NextCursor;
        }
        while (cursor is not null);
    }
}
