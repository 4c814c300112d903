/* commands.h — every `sbir` command; the table in main.c lists them for `sbir --help`. */
#ifndef SBIR_COMMANDS_H
#define SBIR_COMMANDS_H

int cmd_synth(int argc, char **argv);
int cmd_sketch(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_import_quickdraw(int argc, char **argv); /* called by cmd_import for `import quickdraw` */
int cmd_info(int argc, char **argv);
/* sbir info on a model or an index file (cmd_info_files.c) */
int info_model(const char *path);
int info_index(const char *path);
int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_query(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_bench_query(int argc, char **argv); /* `bench query` and `bench index`, dispatched by cmd_bench */
int cmd_bench_search(int argc, char **argv); /* `bench search`, dispatched by cmd_bench */
int cmd_bench_shards(int argc, char **argv); /* `bench shards`, dispatched by cmd_bench */
int cmd_bench_serve(int argc, char **argv);  /* `bench serve`, dispatched by cmd_bench */

#endif
