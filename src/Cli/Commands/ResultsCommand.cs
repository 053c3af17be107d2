using System.CommandLine;
using OrleansLlm.Client;
using OrleansLlm.Client.Output;

namespace OrleansLlm.Cli.Commands;

/// <summary><c>results BATCH</c>: a batch's results, page by page, to stdout or a file.</summary>
public static class ResultsCommand
{
    public static Command Create()
    {
        var batch = new Argument<string>("BATCH") { Description = "batch id; 'default' for raw items pushed straight into Redis" };
        var format = CliOptions.OneOf("--format", "output format (openai: an OpenAI batch output file)", [.. ResultWriter.Formats, OpenAiResultWriter.Format]);
        var errors = new Option<bool>("--errors") { Description = "write the batch's dead-lettered items instead, as an OpenAI batch error file" };
        var outFile = new Option<FileInfo?>("--out") { Description = "write to this file instead of standard output" };
        var command = new Command("results", "Write a batch's results") { batch, format, errors, outFile };
        command.SetAction((parse, ct) => Cli.RunAsync(parse, ct, async () =>
        {
            var path = parse.GetValue(outFile)?.FullName;
            if (path is not null)
            {
                CheckOutPath(path);
            }

            var id = parse.GetValue(batch)!;
            await using var cluster = await Cli.ConnectAsync(parse, ct);
            var grain = cluster.Client.GetGrain<IBatchGrain>(id);
            if (!(await grain.GetProgressAsync(ct)).Exists)
            {
                throw new CliException($"no batch {id} (see 'orleansllm status' for the recent ones)");
            }

            // One writer for the whole command: the results in the chosen format, or the dead letters as OpenAI errors.
            Func<TextWriter, Task<int>> write = parse.GetValue(errors)
                ? output => OpenAiErrorWriter.WriteAsync(DeadLetters.ReadAsync(cluster.Client.GetGrain<IQueueGrain>(0), id, ct), output, ct)
                : parse.GetValue(format) == OpenAiResultWriter.Format
                    ? output => OpenAiResultWriter.WriteAsync(BatchResults.ReadAsync(grain, ct), output, ct)
                    : output => ResultWriter.WriteAsync(BatchResults.ReadAsync(grain, ct), parse.GetValue(format)!, output, ct);
            if (path is null)
            {
                await write(Console.Out);
                return;
            }

            // Written beside the file and moved into place once complete, so an interrupted run leaves no half file under its name.
            var partial = path + ".partial";
            int count;
            try
            {
                await using (var output = new StreamWriter(partial))
                {
                    count = await write(output);
                }

                File.Move(partial, path, overwrite: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--out {path}: {ex.Message}");
            }
            finally
            {
                File.Delete(partial);
            }

            Console.Error.WriteLine($"wrote {count} {(parse.GetValue(errors) ? "errors" : "results")} to {path}");
        }));
        return command;
    }

    private static void CheckOutPath(string path)
    {
        if (Directory.Exists(path))
        {
            throw new CliException($"--out {path}: is a directory; give a file name", ExitCodes.Usage);
        }

        if (Path.GetDirectoryName(path) is { } directory && !Directory.Exists(directory))
        {
            throw new CliException($"--out {path}: no such directory: {directory}", ExitCodes.Usage);
        }
    }
}
