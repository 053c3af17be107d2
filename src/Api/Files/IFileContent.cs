namespace OrleansLlm.Api.Files;

/// <summary>Writes the content of a file that a batch makes (its output or error file), a line at a time.</summary>
public interface IFileContent
{
    Task WriteAsync(ApiFile file, Stream body, CancellationToken cancellationToken);

    /// <returns>How many bytes <see cref="WriteAsync"/> would write now.</returns>
    Task<long> CountAsync(ApiFile file, CancellationToken cancellationToken);
}
