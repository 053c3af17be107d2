namespace OrleansLlm.Silo.Batches;

public static class BatchesPageExtensions
{
    public const string Path = "/batches";

    /// <summary>What the batches page needs: its files, the table's reader and the output and error files.</summary>
    public static IServiceCollection AddOrleansLlmBatchesPage(this IServiceCollection services)
    {
        services.AddSingleton<BatchesPageAssets>();
        services.AddSingleton<BatchTableReader>();
        services.AddSingleton<BatchFiles>();
        return services;
    }

    /// <summary>
    /// Maps the batches page for operators at <c>/batches</c>: every batch, newest first, with its status, progress,
    /// tokens, ETA and files, refreshed live from <c>/batches/table</c> (JSON), and each batch's output and error files
    /// at <c>/batches/{id}/output.jsonl</c> and <c>/batches/{id}/errors.jsonl</c>.
    /// </summary>
    /// <remarks>It answers how a batch is doing, where the Orleans Dashboard answers which silo and grain is busy.</remarks>
    public static IEndpointRouteBuilder MapOrleansLlmBatchesPage(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext http, BatchesPageAssets assets) => assets.Serve(http, "batches.html"));
        app.MapGet($"{Path}/batches.css", (HttpContext http, BatchesPageAssets assets) => assets.Serve(http, "batches.css"));
        app.MapGet($"{Path}/batches.js", (HttpContext http, BatchesPageAssets assets) => assets.Serve(http, "batches.js"));
        app.MapGet($"{Path}/table", ReadTableAsync);
        app.MapGet($"{Path}/{{id}}/output.jsonl", (string id, HttpContext http, BatchFiles files) => files.WriteOutputAsync(http, id));
        app.MapGet($"{Path}/{{id}}/errors.jsonl", (string id, HttpContext http, BatchFiles files) => files.WriteErrorsAsync(http, id));
        return app;
    }

    /// <summary><c>GET /batches/table?after=ID&amp;limit=N</c>: a page of batches as JSON; a bad parameter is a 400 with one line of text.</summary>
    private static async Task<IResult> ReadTableAsync(string? after, string? limit, BatchTableReader reader, CancellationToken cancellationToken)
    {
        var size = BatchTableReader.DefaultPageSize;
        if (limit is not null && (!int.TryParse(limit, out size) || size is < 1 or > BatchTableReader.MaxPageSize))
        {
            return Results.Text($"limit must be a number from 1 to {BatchTableReader.MaxPageSize} (was '{limit}').", statusCode: StatusCodes.Status400BadRequest);
        }

        if (after is { Length: > 0 } && !BatchIds.IsValid(after))
        {
            return Results.Text($"after must be a batch id (was '{after}').", statusCode: StatusCodes.Status400BadRequest);
        }

        try
        {
            var table = await reader.ReadAsync(after is { Length: > 0 } ? after : null, size, cancellationToken);
            return Results.Json(table, BatchesJsonContext.Default.BatchTable);
        }
        catch (ArgumentException ex)
        {
            return Results.Text(ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }
    }
}
